/**
 * A cart as the shopper sees it and checkout charges it: its lines priced from the catalog in the cart's
 * currency, each flagged when it cannot be bought, the chosen shipping option priced for the cart, the discount
 * code judged by its rules, and the totals (totals.ts). Nothing priced is stored on the cart, so a price change,
 * a region move, an archived product or a deactivated code shows on the next read; one D1 batch reads it all.
 */
import { and, asc, eq, or, type SQL, type SQLWrapper, sql } from 'drizzle-orm';
import {
  cartLines,
  prices,
  products,
  productTranslations,
  regions,
  shippingOptions,
  variants,
} from '../../db/schema';
import type { Database } from '../../lib/db';
import { decryptField } from '../../lib/encryption';
import { localeRank } from '../../lib/locale-sql';
import type { PostalAddress } from '../customers/schemas';
import { discountWithUsage, discountWithUsageQuery } from '../discounts/read';
import { type DiscountRefusal, discountRefusal, discountTerms } from '../discounts/rules';
import type { DiscountRow } from '../discounts/schemas';
import { shippingPrice } from '../shipping-options/pricing';
import type { ShippingOptionRow } from '../shipping-options/schemas';
import type { CartRow } from './access';
import { type CartTotals, cartTotals, discountAmount, type LineTotals } from './totals';

type CartLineRow = typeof cartLines.$inferSelect;
export type RegionRow = typeof regions.$inferSelect;

export type LoadedLine = {
  row: CartLineRow;
  productId: string | null;
  productHandle: string | null;
  sku: string;
  title: string;
  variantTitle: string;
  weightGrams: number;
  /** The current price in the cart's currency; null when the line cannot be bought. */
  unitPrice: number | null;
  /** Null when the line cannot be bought (it counts in no total). */
  totals: LineTotals | null;
};

export type PricedShippingOption = { option: ShippingOptionRow; amount: number };

export type LoadedCart = {
  cart: CartRow;
  region: RegionRow | null;
  lines: LoadedLine[];
  shippingAddress: PostalAddress | null;
  /** The region's active options that can carry the cart, cheapest first (then by name). */
  shippingOptions: PricedShippingOption[];
  /**
   * The option the totals use: the one chosen (amount null when it no longer applies: deactivated, another
   * region, too heavy), or with `shipping: 'chosen_or_cheapest'` the cheapest applicable one when none was
   * chosen (`chosen` false). Null when there is none.
   */
  shippingOption: { option: ShippingOptionRow; amount: number | null; chosen: boolean } | null;
  /** The code on the cart, its discount (null if no discount has it) and why it does not apply (null: it does). */
  discount: { code: string; discount: DiscountRow | null; refusal: DiscountRefusal | null } | null;
  totals: CartTotals;
  /** Units across all lines, buyable or not. */
  itemCount: number;
};

/** The locales product titles are tried in, for a cart in the region `regionId`. */
export type LocaleChains = (regionId: string | null) => string[];

export type LoadOptions = {
  locales: LocaleChains;
  /** Checkout passes `chosen_or_cheapest`: with no option chosen, the cheapest that applies is used. */
  shipping?: 'chosen' | 'chosen_or_cheapest';
  now?: Date;
};

/**
 * The currency a cart is priced in: its region's as it is now (staff may move a region to another currency, and
 * its shipping options and the catalog's prices move with it), or without a region the one the cart was written
 * in. `regionId` and `currency` are values, or the carts row's own columns in a statement on carts.
 */
export function cartCurrency(
  regionId: SQLWrapper | string | null,
  currency: SQLWrapper | string,
): SQL<string> {
  return sql<string>`coalesce((SELECT ${regions.currencyCode} FROM ${regions} WHERE ${regions.id} = ${regionId}), ${currency})`;
}

function linesQuery(db: Database, cart: CartRow, localeChain: string[]) {
  const title = sql<string | null>`(SELECT ${productTranslations.title} FROM ${productTranslations}
    WHERE ${productTranslations.productId} = ${variants.productId}
    ORDER BY ${localeRank(productTranslations.locale, localeChain)}, ${productTranslations.locale} LIMIT 1)`;
  // Every column has a name of its own: D1 batches return rows keyed by column name, so a second `id` or
  // `sku` would overwrite the first.
  return db
    .select({
      line: cartLines,
      productId: sql<string | null>`${products.id}`.as('product_id'),
      productHandle: products.handle,
      productStatus: products.status,
      sku: sql<string | null>`${variants.sku}`.as('live_sku'),
      variantTitle: sql<string | null>`${variants.title}`.as('live_variant_title'),
      weightGrams: variants.weightGrams,
      amount: prices.amount,
      title: title.as('live_product_title'),
    })
    .from(cartLines)
    .leftJoin(variants, eq(variants.id, cartLines.variantId))
    .leftJoin(products, eq(products.id, variants.productId))
    .leftJoin(
      prices,
      and(
        eq(prices.variantId, cartLines.variantId),
        eq(prices.currencyCode, cartCurrency(cart.regionId, cart.currencyCode)),
      ),
    )
    .where(eq(cartLines.cartId, cart.id))
    .orderBy(asc(cartLines.createdAt), asc(cartLines.id));
}

/** The region's active options, and the chosen one whatever its state. */
function optionsQuery(db: Database, cart: CartRow) {
  return db
    .select()
    .from(shippingOptions)
    .where(
      or(
        and(eq(shippingOptions.regionId, cart.regionId ?? ''), eq(shippingOptions.active, true)),
        eq(shippingOptions.id, cart.shippingOptionId ?? ''),
      ),
    )
    .orderBy(asc(shippingOptions.name), asc(shippingOptions.id));
}

/**
 * Prices `cart` as it is in D1, or as a service is about to write it (a PATCH checks the cart it would
 * produce before writing it).
 */
export async function priceCart(
  env: Env,
  db: Database,
  cart: CartRow,
  options: LoadOptions,
): Promise<LoadedCart> {
  const now = options.now ?? new Date();
  const [regionRows, lineRows, optionRows, discountRows] = await db.batch([
    db
      .select()
      .from(regions)
      .where(eq(regions.id, cart.regionId ?? '')),
    linesQuery(db, cart, options.locales(cart.regionId)),
    optionsQuery(db, cart),
    discountWithUsageQuery(db, cart.discountCode ?? '', { customerId: cart.customerId, email: cart.email }),
  ]);
  const region = regionRows[0] ?? null;
  // In the currency the lines were just priced in (cartCurrency), whatever the row was last written with.
  const priced = region ? { ...cart, currencyCode: region.currencyCode } : cart;

  const lines = lineRows.map((r) => {
    const buyable = region !== null && r.productStatus === 'active' && r.amount !== null;
    return {
      row: r.line,
      productId: r.productId,
      productHandle: r.productHandle,
      sku: r.sku ?? r.line.sku,
      title: r.title ?? r.line.productTitle,
      variantTitle: r.variantTitle ?? r.line.variantTitle,
      weightGrams: r.weightGrams ?? 0,
      unitPrice: buyable ? r.amount : null,
    };
  });
  const buyable = lines.filter((line) => line.unitPrice !== null);
  const subtotal = buyable.reduce((sum, line) => sum + (line.unitPrice ?? 0) * line.row.quantity, 0);

  const { discount, usage } = discountWithUsage(discountRows);
  const refusal = cart.discountCode
    ? discountRefusal(
        discount,
        { regionId: cart.regionId, currency: priced.currencyCode, subtotal, now },
        usage,
      )
    : null;
  const terms = discount && cart.discountCode && refusal === null ? discountTerms(discount) : null;

  const goods = {
    discountedSubtotal: subtotal - discountAmount(subtotal, terms),
    weightGrams: buyable.reduce((sum, line) => sum + line.weightGrams * line.row.quantity, 0),
  };
  const applicable = optionRows
    .filter((o) => o.active && o.regionId === cart.regionId)
    .flatMap((option) => {
      const amount = shippingPrice(option, goods);
      return amount === null ? [] : [{ option, amount }];
    })
    .sort((a, b) => a.amount - b.amount);
  const chosen = optionRows.find((o) => o.id === cart.shippingOptionId);
  const shippingOption = chosen
    ? {
        option: chosen,
        amount: applicable.find((a) => a.option.id === chosen.id)?.amount ?? null,
        chosen: true,
      }
    : options.shipping === 'chosen_or_cheapest' && applicable[0]
      ? { ...applicable[0], chosen: false }
      : null;

  const totals = cartTotals({
    lines: buyable.map((line) => ({ unitPrice: line.unitPrice ?? 0, quantity: line.row.quantity })),
    tax: { rateBps: region?.taxRateBps ?? 0, pricesIncludeTax: region?.pricesIncludeTax ?? true },
    discount: terms,
    shipping: shippingOption?.amount ?? 0,
  });
  const lineTotals = new Map(buyable.map((line, index) => [line, totals.lines[index] ?? null]));

  return {
    cart: priced,
    region,
    lines: lines.map((line) => ({ ...line, totals: lineTotals.get(line) ?? null })),
    shippingAddress: cart.shippingAddressEncrypted
      ? (JSON.parse(await decryptField(env, cart.shippingAddressEncrypted)) as PostalAddress)
      : null,
    shippingOptions: applicable,
    shippingOption,
    discount: cart.discountCode ? { code: cart.discountCode, discount, refusal } : null,
    totals,
    itemCount: lines.reduce((sum, line) => sum + line.row.quantity, 0),
  };
}
