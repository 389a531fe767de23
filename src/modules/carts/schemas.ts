import { z } from '@hono/zod-openapi';
import { CART_STATUSES } from '../../db/schema';
import { someFieldToChange, Timestamp } from '../../lib/catalog-fields';
import { Email } from '../../lib/email-address';
import { AddressInputSchema, postalAddressFields } from '../customers/schemas';
import { DISCOUNT_REFUSALS } from '../discounts/rules';
import { DiscountCode } from '../discounts/schemas';
import { MAX_CART_QUANTITY, MAX_LINE_QUANTITY } from './limits';
import type { LoadedCart } from './load';

const RegionCode = z
  .string()
  .regex(/^[a-z0-9-]{1,32}$/)
  .openapi({ example: 'eu', description: 'A region code (GET /v1/store/regions)' });

/** A shipping address: a saved customer address without its default flags. */
export const CartAddressInput = AddressInputSchema.omit({
  is_default_shipping: true,
  is_default_billing: true,
})
  .strict()
  .openapi('CartAddressInput');
export type CartAddressInput = z.infer<typeof CartAddressInput>;

export const CartAddressSchema = z.object(postalAddressFields).openapi('CartAddress');
export type CartAddress = z.infer<typeof CartAddressSchema>;

/** The address as stored and shown: every optional field present, null when not given. */
export function cartAddress(input: CartAddressInput): CartAddress {
  return {
    first_name: input.first_name,
    last_name: input.last_name,
    company: input.company ?? null,
    line1: input.line1,
    line2: input.line2 ?? null,
    city: input.city,
    postal_code: input.postal_code,
    province: input.province ?? null,
    country_code: input.country_code,
    phone: input.phone ?? null,
  };
}

export const CreateCartBody = z
  .object({
    region: RegionCode.optional().openapi({
      description: 'Defaults to the region the edge resolved for the shopper (country, `region` parameter)',
    }),
    email: Email.optional(),
  })
  .strict()
  .openapi('CreateCart');
export type CreateCartInput = z.infer<typeof CreateCartBody>;

export const UpdateCartBody = z
  .object({
    region: RegionCode.openapi({
      description:
        'Moves the cart to another region: every line is priced in its currency, lines not sold there are ' +
        'flagged `unavailable` (never removed), and a shipping option of the old region is unset',
    }),
    email: Email.nullable(),
    shipping_address: CartAddressInput.nullable().openapi({
      description: 'Its country must belong to the cart’s region',
    }),
    shipping_option_id: z
      .string()
      .max(64)
      .nullable()
      .openapi({ description: 'One of GET /v1/store/carts/{id}/shipping-options' }),
    discount_code: DiscountCode.nullable().openapi({
      description: 'Case-insensitive; attempts are rate limited per cart and per client IP; null removes it',
    }),
  })
  .partial()
  .strict()
  .refine(...someFieldToChange)
  .openapi('UpdateCart');
export type UpdateCartInput = z.infer<typeof UpdateCartBody>;

const Quantity = z.number().int().min(1).max(MAX_LINE_QUANTITY);

export const AddLineItemBody = z
  .object({
    variant_id: z.string().min(1).max(64).openapi({ example: 'var_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    quantity: Quantity.openapi({
      example: 1,
      description: `Added to the line of this variant if there is one (at most ${MAX_LINE_QUANTITY} per line, ${MAX_CART_QUANTITY} per cart)`,
    }),
  })
  .strict()
  .openapi('AddLineItem');

export const UpdateLineItemBody = z
  .object({
    quantity: Quantity.openapi({ example: 2, description: 'The line’s new quantity' }),
  })
  .strict()
  .openapi('UpdateLineItem');

export const CartParams = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'cart_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
});

export const LineItemParams = CartParams.extend({
  line_id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'line_id', in: 'path' }, example: 'cli_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
});

export const LINE_FLAGS = ['unavailable', 'not_reserved'] as const;

const Money = z.number().int().openapi({ description: 'Minor units of the cart’s currency' });

export const CartLineSchema = z
  .object({
    id: z.string().openapi({ example: 'cli_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    variant_id: z.string(),
    product_id: z.string().nullable().openapi({ description: 'Null once the variant was deleted' }),
    product_handle: z.string().nullable(),
    sku: z.string(),
    title: z.string().openapi({ description: 'The product’s title in the request’s locale' }),
    variant_title: z.string(),
    quantity: z.number().int(),
    unit_price: Money.nullable().openapi({
      description:
        'The current price in the cart’s region (with tax if the region shows it); null if unavailable',
    }),
    subtotal: Money,
    discount: Money.openapi({ description: 'This line’s share of the cart’s discount' }),
    tax: Money,
    total: Money.openapi({ description: 'What the line costs: subtotal − discount, with tax' }),
    reservation_expires_at: Timestamp.nullable().openapi({
      description: 'Until when stock is held for this line; null when nothing is held',
    }),
    flags: z.array(z.enum(LINE_FLAGS)).openapi({
      description:
        '`unavailable`: not sold in the cart’s region now (not priced in its currency, product not active, ' +
        'variant deleted); it counts in no total and checkout refuses the cart until it is removed. ' +
        '`not_reserved`: no stock is held for it now (its hold expired); checkout tries again.',
    }),
  })
  .openapi('CartLine');

export const CartSchema = z
  .object({
    id: z.string().openapi({ example: 'cart_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    status: z.enum(CART_STATUSES),
    region: z.string().nullable().openapi({ example: 'eu', description: 'Null if staff deleted the region' }),
    currency: z.string().openapi({ example: 'EUR' }),
    customer_id: z.string().nullable(),
    email: z.string().nullable(),
    shipping_address: CartAddressSchema.nullable(),
    shipping_option: z
      .object({
        id: z.string(),
        name: z.string(),
        amount: Money.nullable().openapi({ description: 'Null when the option no longer applies' }),
        applicable: z.boolean().openapi({
          description: 'False when the option was deactivated or cannot carry the cart (too heavy)',
        }),
      })
      .nullable(),
    discount: z
      .object({
        code: z.string(),
        applicable: z.boolean(),
        reason: z
          .enum(Object.keys(DISCOUNT_REFUSALS) as [keyof typeof DISCOUNT_REFUSALS])
          .nullable()
          .openapi({ description: 'Why the code does not apply now (null when it does)' }),
        amount: Money,
      })
      .nullable(),
    lines: z.array(CartLineSchema),
    item_count: z.number().int().openapi({ description: 'Units across all lines' }),
    totals: z
      .object({
        subtotal: Money,
        discount: Money,
        shipping: Money,
        tax: Money,
        total: Money,
        tax_inclusive: z
          .boolean()
          .openapi({ description: 'Whether subtotal and shipping include tax (the region’s prices do)' }),
      })
      .openapi('CartTotals'),
    completed_order_id: z.string().nullable(),
    created_at: Timestamp,
    updated_at: Timestamp.openapi({
      description:
        'Later after every change of the cart, even two in one millisecond (it may then run a few ' +
        'milliseconds ahead of the clock): a different value means the cart changed',
    }),
  })
  .openapi('Cart');
export type CartView = z.infer<typeof CartSchema>;

export const CartResponseSchema = z.object({ cart: CartSchema }).openapi('CartResponse');

export const CreatedCartSchema = z
  .object({
    cart: CartSchema,
    token: z
      .string()
      .nullable()
      .openapi({
        description:
          'The guest cart’s secret: send it as `X-Cart-Token` on every call for this cart (shown only here). ' +
          'Null for a signed-in customer’s cart, which their access token reaches.',
      }),
  })
  .openapi('CreatedCart');

export const CartShippingOptionListSchema = z
  .object({
    data: z.array(
      z
        .object({
          id: z.string(),
          name: z.string(),
          amount: Money.openapi({ description: 'What this cart would pay, with tax if the region shows it' }),
          free_over: Money.nullable().openapi({ description: 'Free from this subtotal after discounts' }),
        })
        .openapi('CartShippingOption'),
    ),
  })
  .openapi('CartShippingOptionList');

const isoOrNull = (date: Date | null) => (date ? date.toISOString() : null);

/** The cart as JSON. `now` decides whether a line's hold has expired. */
export function serializeCart(loaded: LoadedCart, now: Date): CartView {
  const { cart, totals } = loaded;
  return {
    id: cart.id,
    status: cart.status,
    region: loaded.region?.code ?? null,
    currency: cart.currencyCode,
    customer_id: cart.customerId,
    email: cart.email,
    shipping_address: loaded.shippingAddress,
    shipping_option: loaded.shippingOption?.chosen
      ? {
          id: loaded.shippingOption.option.id,
          name: loaded.shippingOption.option.name,
          amount: loaded.shippingOption.amount,
          applicable: loaded.shippingOption.amount !== null,
        }
      : null,
    discount: loaded.discount
      ? {
          code: loaded.discount.code,
          applicable: loaded.discount.refusal === null,
          reason: loaded.discount.refusal,
          amount: totals.discount,
        }
      : null,
    lines: loaded.lines.map((line) => {
      const held = line.row.reservationExpiresAt;
      const flags: (typeof LINE_FLAGS)[number][] = [];
      if (line.totals === null) flags.push('unavailable');
      if (!held || held.getTime() <= now.getTime()) flags.push('not_reserved');
      return {
        id: line.row.id,
        variant_id: line.row.variantId,
        product_id: line.productId,
        product_handle: line.productHandle,
        sku: line.sku,
        title: line.title,
        variant_title: line.variantTitle,
        quantity: line.row.quantity,
        unit_price: line.unitPrice,
        subtotal: line.totals?.subtotal ?? 0,
        discount: line.totals?.discount ?? 0,
        tax: line.totals?.tax ?? 0,
        total: line.totals?.total ?? 0,
        reservation_expires_at: isoOrNull(held),
        flags,
      };
    }),
    item_count: loaded.itemCount,
    totals: {
      subtotal: totals.subtotal,
      discount: totals.discount,
      shipping: totals.shipping,
      tax: totals.tax,
      total: totals.total,
      tax_inclusive: totals.taxInclusive,
    },
    completed_order_id: cart.completedOrderId,
    created_at: cart.createdAt.toISOString(),
    updated_at: cart.updatedAt.toISOString(),
  };
}
