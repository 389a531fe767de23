/**
 * From a priced cart (carts/load.ts, with the cheapest applicable shipping option when none was chosen) to the
 * order it becomes, or the reason it cannot become one yet. Everything the shopper can fix is refused here,
 * before anything is reserved or charged.
 */
import { eq, inArray } from 'drizzle-orm';
import { regionCountries, variants } from '../../db/schema';
import type { Database } from '../../lib/db';
import { Email } from '../../lib/email-address';
import { AppError } from '../../lib/errors';
import type { LoadedCart } from '../carts/load';
import { reservationIdOf } from '../carts/reservations';
import { DISCOUNT_REFUSALS } from '../discounts/rules';
import type { OrderDraft, OrderLineDraft } from '../orders/place';

const unprocessable = (code: string, detail: string) => new AppError(422, code, detail);

/** The lines as the order keeps them; each option map read from its variant (the cart does not price them). */
async function lineDrafts(db: Database, loaded: LoadedCart): Promise<OrderLineDraft[]> {
  const ids = loaded.lines.map((l) => l.row.variantId);
  const rows = await db
    .select({ id: variants.id, options: variants.options })
    .from(variants)
    .where(inArray(variants.id, ids));
  const options = new Map(rows.map((r) => [r.id, r.options]));
  return loaded.lines.map((line) => {
    const totals = line.totals;
    if (totals === null || line.unitPrice === null || line.productId === null) {
      throw new Error('lineDrafts needs a cart whose lines are all available');
    }
    return {
      variantId: line.row.variantId,
      productId: line.productId,
      sku: line.sku,
      reservationId: reservationIdOf(loaded.cart.id, line.row.variantId),
      productTitle: line.title,
      variantTitle: line.variantTitle,
      options: options.get(line.row.variantId) ?? {},
      unitPrice: line.unitPrice,
      quantity: line.row.quantity,
      subtotal: totals.subtotal,
      discountTotal: totals.discount,
      taxTotal: totals.tax,
      total: totals.total,
    };
  });
}

/**
 * The order `loaded` becomes, placed as `status`; throws the 4xx that tells the shopper what to fix:
 * 422 `cart_empty`, `email_required`, `shipping_address_required`, `shipping_address_outside_region`,
 * `no_shipping_option`; 409 `cart_has_unavailable_lines`, `shipping_option_unavailable`, or the discount's
 * refusal (`discount_expired`, `discount_usage_limit_reached`, ...).
 */
export async function orderDraftOf(
  db: Database,
  loaded: LoadedCart,
  status: OrderDraft['status'],
): Promise<OrderDraft> {
  const { cart, region, totals } = loaded;
  if (loaded.lines.length === 0)
    throw unprocessable('cart_empty', 'Add at least one line to the cart first.');
  if (!cart.email) throw unprocessable('email_required', 'Set the cart’s email before checking out.');
  // An address stored before every writer checked it (an identity provider's, docs/AUTH.md) would fail the
  // order's event: asked for again, as if there were none.
  if (!Email.safeParse(cart.email).success) {
    throw unprocessable('email_required', 'The cart’s email is not an address we can use; set another.');
  }
  const address = loaded.shippingAddress;
  if (!address) throw unprocessable('shipping_address_required', 'Set the cart’s shipping address first.');
  const unavailable = loaded.lines.flatMap((line, i) => (line.totals === null ? [i] : []));
  if (region === null || unavailable.length > 0) {
    throw new AppError(
      409,
      'cart_has_unavailable_lines',
      'Some lines cannot be bought now; remove them first.',
      {
        errors: unavailable.map((i) => ({
          pointer: `/lines/${i}`,
          message: 'Not available in the cart’s region',
        })),
      },
    );
  }
  const servedBy = await db
    .select({ regionId: regionCountries.regionId })
    .from(regionCountries)
    .where(eq(regionCountries.countryCode, address.country_code))
    .get();
  if (servedBy?.regionId !== region.id) {
    throw unprocessable(
      'shipping_address_outside_region',
      `The cart’s region does not ship to ${address.country_code}; change the address or the region.`,
    );
  }
  const shipping = loaded.shippingOption;
  if (!shipping)
    throw unprocessable('no_shipping_option', 'No shipping option of the region can carry this cart.');
  if (shipping.amount === null) {
    throw new AppError(
      409,
      'shipping_option_unavailable',
      'The chosen shipping option no longer applies; choose another.',
    );
  }
  const discount = loaded.discount;
  if (discount?.refusal) throw new AppError(409, discount.refusal, DISCOUNT_REFUSALS[discount.refusal]);
  return {
    cartId: cart.id,
    customerId: cart.customerId,
    email: cart.email,
    regionId: region.id,
    regionCode: region.code,
    currency: cart.currencyCode,
    status,
    shippingAddress: address,
    shippingMethod: { id: shipping.option.id, name: shipping.option.name, amount: shipping.amount },
    discount:
      discount?.discount && totals.discount > 0
        ? { id: discount.discount.id, code: discount.code, amount: totals.discount }
        : null,
    lines: await lineDrafts(db, loaded),
    subtotal: totals.subtotal,
    discountTotal: totals.discount,
    shippingTotal: totals.shipping,
    taxTotal: totals.tax,
    total: totals.total,
    taxInclusive: totals.taxInclusive,
  };
}
