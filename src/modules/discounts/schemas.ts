import { z } from '@hono/zod-openapi';
import { DISCOUNT_TYPES, type discounts } from '../../db/schema';
import { Currency, iso, someFieldToChange, Timestamp, uniqueBy } from '../../lib/catalog-fields';
import { MAX_AMOUNT } from '../../lib/money';
import { PageInfoSchema, PaginationQuery } from '../../lib/pagination';

/**
 * A discount code as shoppers type it: letters, digits, `-` and `_`, compared without regard to case (stored
 * and shown upper-cased).
 */
export const DiscountCode = z
  .string()
  .trim()
  .min(3)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'Use letters, digits, "-" and "_"')
  .transform((code) => code.toUpperCase())
  .openapi({ example: 'SUMMER10' });

const Amount = z.number().int().min(1).lt(MAX_AMOUNT);
const Limit = z.number().int().min(1).max(1_000_000_000);
const Instant = z.iso.datetime({ offset: true }).openapi({ example: '2026-12-01T00:00:00Z' });

const discountFields = {
  code: DiscountCode,
  type: z.enum(DISCOUNT_TYPES).openapi({
    description: '`percentage`: `percentage_bps` off the subtotal; `fixed`: `amount` off, in `currency`',
  }),
  percentage_bps: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .nullable()
    .openapi({ example: 1000, description: 'Percentage off in basis points (1000 = 10%); percentage only' }),
  amount: Amount.nullable().openapi({ example: 500, description: 'Minor units off; fixed only' }),
  currency: Currency.nullable().openapi({
    description:
      'Required for a fixed discount and for a minimum subtotal; the code then applies only to carts in it',
  }),
  minimum_subtotal: Amount.nullable().openapi({
    description: 'The cart’s subtotal before discounts must reach this, in `currency`',
  }),
  starts_at: Instant.nullable().openapi({ description: 'Valid from (inclusive); null: at once' }),
  ends_at: Instant.nullable().openapi({ description: 'Valid until (exclusive); null: no end' }),
  usage_limit: Limit.nullable().openapi({
    description: 'Orders that may use the code in total (a canceled order no longer counts)',
  }),
  usage_limit_per_customer: Limit.nullable().openapi({
    description: 'Orders per customer (guests counted by email)',
  }),
  region_ids: z
    .array(z.string().min(1).max(64))
    .min(1)
    .max(100)
    .superRefine(uniqueBy((id) => id))
    .nullable()
    .openapi({ description: 'Regions the code is valid in; null: every region' }),
  active: z.boolean(),
};

const optional = <T extends z.ZodType>(schema: T) => schema.optional();

export const CreateDiscountBody = z
  .object({
    code: discountFields.code,
    type: discountFields.type,
    percentage_bps: optional(discountFields.percentage_bps),
    amount: optional(discountFields.amount),
    currency: optional(discountFields.currency),
    minimum_subtotal: optional(discountFields.minimum_subtotal),
    starts_at: optional(discountFields.starts_at),
    ends_at: optional(discountFields.ends_at),
    usage_limit: optional(discountFields.usage_limit),
    usage_limit_per_customer: optional(discountFields.usage_limit_per_customer),
    region_ids: optional(discountFields.region_ids),
    active: optional(discountFields.active),
  })
  .strict()
  .openapi('CreateDiscount');
export type CreateDiscountInput = z.infer<typeof CreateDiscountBody>;

export const UpdateDiscountBody = z
  .object(discountFields)
  .partial()
  .strict()
  .refine(...someFieldToChange)
  .openapi('UpdateDiscount');
export type UpdateDiscountInput = z.infer<typeof UpdateDiscountBody>;

export const DiscountSchema = z
  .object({
    id: z.string().openapi({ example: 'disc_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    code: z.string(),
    type: z.enum(DISCOUNT_TYPES),
    percentage_bps: z.number().int().nullable(),
    amount: z.number().int().nullable(),
    currency: z.string().nullable(),
    minimum_subtotal: z.number().int().nullable(),
    starts_at: Timestamp.nullable(),
    ends_at: Timestamp.nullable(),
    usage_limit: z.number().int().nullable(),
    usage_limit_per_customer: z.number().int().nullable(),
    region_ids: z.array(z.string()).nullable(),
    active: z.boolean(),
    times_used: z.number().int().openapi({
      description: 'Orders that redeemed the code, less those canceled since (a cancel gives the use back)',
    }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('Discount');
export type DiscountView = z.infer<typeof DiscountSchema>;

export const DiscountListSchema = z
  .object({ data: z.array(DiscountSchema), page: PageInfoSchema })
  .openapi('DiscountList');

export const DiscountListQuery = z.object({
  ...PaginationQuery,
  code: DiscountCode.optional().openapi({ description: 'Only the discount with this code (any case)' }),
});

export const DiscountParams = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'disc_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
});

export type DiscountRow = typeof discounts.$inferSelect;

export function serializeDiscount(row: DiscountRow, timesUsed: number): DiscountView {
  return {
    id: row.id,
    code: row.code,
    type: row.type,
    percentage_bps: row.percentageBps,
    amount: row.amount,
    currency: row.currencyCode,
    minimum_subtotal: row.minimumSubtotal,
    starts_at: row.startsAt ? iso(row.startsAt) : null,
    ends_at: row.endsAt ? iso(row.endsAt) : null,
    usage_limit: row.usageLimit,
    usage_limit_per_customer: row.usageLimitPerCustomer,
    region_ids: row.regionIds,
    active: row.active,
    times_used: timesUsed,
    created_at: iso(row.createdAt),
    updated_at: iso(row.updatedAt),
  };
}
