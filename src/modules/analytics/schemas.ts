import { z } from '@hono/zod-openapi';
import type { salesDaily } from '../../db/schema';
import { PageInfoSchema, PaginationQuery } from '../../lib/pagination';

/** The longest range one report covers: a year, so one query reads a bounded number of days. */
export const MAX_REPORT_DAYS = 366;
const DAY_MS = 86_400_000;

const Day = z.iso.date().openapi({ description: 'A UTC day, `YYYY-MM-DD`', example: '2026-11-27' });

export const SalesReportQuery = z
  .object({
    from: Day.openapi({ description: 'First UTC day included (`YYYY-MM-DD`)', example: '2026-11-01' }),
    to: Day.openapi({ description: 'Last UTC day included (`YYYY-MM-DD`)', example: '2026-11-30' }),
    region: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .openapi({ description: 'Only this region code', example: 'eu' }),
    ...PaginationQuery,
  })
  .refine((q) => q.from <= q.to, { path: ['to'], message: 'Must not be before `from`.' })
  .refine((q) => Date.parse(q.to) - Date.parse(q.from) < MAX_REPORT_DAYS * DAY_MS, {
    path: ['to'],
    message: `A report covers at most ${MAX_REPORT_DAYS} days.`,
  });

export const SalesRowSchema = z
  .object({
    day: z.string().openapi({ example: '2026-11-27' }),
    region: z.string().openapi({ example: 'eu' }),
    country: z.string().openapi({ description: 'Shipping country (ISO 3166-1 alpha-2)', example: 'DE' }),
    currency: z.string().openapi({ example: 'EUR' }),
    orders: z.number().int().openapi({ description: 'Orders placed', example: 12 }),
    ordered_amount: z.number().int().openapi({ description: 'Sum of order totals placed (minor units)' }),
    paid_amount: z.number().int().openapi({ description: 'Payments authorized or captured (minor units)' }),
    refunded_amount: z
      .number()
      .int()
      .openapi({ description: 'Refunds, and the payments of paid orders canceled (minor units)' }),
    revenue: z.number().int().openapi({ description: '`paid_amount - refunded_amount`' }),
  })
  .openapi('SalesRow');

export const SalesReportSchema = z
  .object({ data: z.array(SalesRowSchema), page: PageInfoSchema })
  .openapi('SalesReport');

export function serializeSalesRow(row: typeof salesDaily.$inferSelect): z.infer<typeof SalesRowSchema> {
  return {
    day: row.day,
    region: row.region,
    country: row.country,
    currency: row.currency,
    orders: row.orders,
    ordered_amount: row.orderedAmount,
    paid_amount: row.paidAmount,
    refunded_amount: row.refundedAmount,
    revenue: row.paidAmount - row.refundedAmount,
  };
}
