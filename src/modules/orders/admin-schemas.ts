/** Staff requests about orders: list filters, fulfilment, cancellation. */
import { z } from '@hono/zod-openapi';
import { ORDER_STATUSES } from '../../db/schema';
import { uniqueBy } from '../../lib/catalog-fields';
import { PaginationQuery } from '../../lib/pagination';
import type { AdminOrderFilters } from './admin-read';

const Id = z.string().min(1).max(64);

export const AdminOrderListQuery = z.object({
  status: z.enum(ORDER_STATUSES).optional(),
  customer_id: Id.optional().openapi({ example: 'cus_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
  email: z
    .string()
    .trim()
    .max(320)
    .transform((e) => e.toLowerCase())
    .optional()
    .openapi({ description: 'Exact email address (case-insensitive)', example: 'ada@example.com' }),
  created_from: z.iso
    .datetime({ offset: true })
    .optional()
    .openapi({ description: 'Orders placed at or after this time', example: '2026-11-01T00:00:00Z' }),
  created_before: z.iso
    .datetime({ offset: true })
    .optional()
    .openapi({ description: 'Orders placed before this time', example: '2026-12-01T00:00:00Z' }),
  q: z.string().trim().min(1).max(320).optional().openapi({
    description: 'An order number (dash optional) or the start of an email address',
    example: '7K3MQ-X2P9D',
  }),
  ...PaginationQuery,
});

/** The list filters a query asks for (its times as Dates). */
export function orderFiltersOf(q: z.infer<typeof AdminOrderListQuery>): AdminOrderFilters {
  return {
    status: q.status,
    customerId: q.customer_id,
    email: q.email,
    createdFrom: q.created_from ? new Date(q.created_from) : undefined,
    createdBefore: q.created_before ? new Date(q.created_before) : undefined,
    q: q.q,
  };
}

const Reason = z.string().trim().min(1).max(500);

export const FulfilBody = z
  .object({
    carrier: z.string().trim().min(1).max(100).openapi({ example: 'DHL' }),
    tracking_number: z.string().trim().min(1).max(100).openapi({ example: '00340434161094042557' }),
    lines: z
      .array(
        z
          .object({
            line_id: Id.openapi({ example: 'oli_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
            quantity: z.number().int().min(1).max(1_000_000),
          })
          .strict(),
      )
      .min(1)
      .max(100)
      .superRefine(uniqueBy((l) => l.line_id, 'line_id'))
      .optional()
      .openapi({ description: 'What this shipment holds; everything not yet fulfilled when left out' }),
  })
  .strict()
  .openapi('Fulfil');
export type FulfilInput = z.infer<typeof FulfilBody>;

export const CancelBody = z.object({ reason: Reason.optional() }).strict().openapi('CancelOrder');

export const RefundBody = z
  .object({
    amount: z
      .number()
      .int()
      .min(1)
      .max(Number.MAX_SAFE_INTEGER)
      .optional()
      .openapi({ description: 'Minor units; everything still refundable when left out', example: 1000 }),
    reason: Reason.optional().openapi({ example: 'Damaged in transit' }),
  })
  .strict()
  .openapi('RefundOrder');
export type RefundInput = z.infer<typeof RefundBody>;
