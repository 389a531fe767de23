import { z } from '@hono/zod-openapi';
import { BACKORDER_POLICIES, STOCK_LEVELS } from '../../db/schema';
import { Timestamp } from '../../lib/catalog-fields';
import { PageInfoSchema } from '../../lib/pagination';
import { MAX_STOCK_QUANTITY, type StockSnapshot } from './stock-types';

export const VariantParams = z.object({
  variant_id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'variant_id', in: 'path' }, example: 'var_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
});

const Reason = z
  .string()
  .trim()
  .min(1)
  .max(500)
  .openapi({ example: 'Cycle count', description: 'Why: kept in the stock ledger and the audit entry' });

export const SetOnHandBody = z
  .object({
    on_hand: z
      .number()
      .int()
      .min(0)
      .max(MAX_STOCK_QUANTITY)
      .openapi({ example: 40, description: 'Units physically on hand; reservations are not subtracted' }),
    reason: Reason,
  })
  .strict()
  .openapi('SetOnHand');
export type SetOnHandInput = z.infer<typeof SetOnHandBody>;

export const AdjustmentBody = z
  .object({
    delta: z
      .number()
      .int()
      .min(-MAX_STOCK_QUANTITY)
      .max(MAX_STOCK_QUANTITY)
      .refine((delta) => delta !== 0, 'Use a non-zero change')
      .openapi({ example: -2, description: 'Units to add (positive) or remove (negative)' }),
    reason: Reason,
  })
  .strict()
  .openapi('InventoryAdjustment');
export type AdjustmentInput = z.infer<typeof AdjustmentBody>;

export const InventorySettingsBody = z
  .object({
    low_stock_threshold: z.number().int().min(0).max(MAX_STOCK_QUANTITY).optional().openapi({
      example: 5,
      description: 'At or under this many available units the level is `low_stock`; 0 turns the level off',
    }),
    backorder: z.enum(BACKORDER_POLICIES).optional().openapi({
      description: '`allow` lets carts reserve and orders sell beyond stock (available goes negative)',
    }),
    reason: Reason.optional(),
  })
  .strict()
  .refine((body) => body.low_stock_threshold !== undefined || body.backorder !== undefined, {
    error: 'Send low_stock_threshold or backorder',
    // Only once the fields themselves are valid: an unknown field is reported as itself, not as this.
    when: (payload) => payload.issues.length === 0,
  })
  .openapi('InventorySettings');
export type InventorySettingsInput = z.infer<typeof InventorySettingsBody>;

export const AdminInventorySchema = z
  .object({
    variant_id: z.string().openapi({ example: 'var_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    sku: z.string().openapi({ example: 'MUG-BLUE' }),
    on_hand: z.number().int().openapi({ example: 40, description: 'Negative only when backordered' }),
    reserved: z.number().int().openapi({ example: 3, description: 'Units held by unexpired reservations' }),
    available: z.number().int().openapi({
      example: 37,
      description:
        '`on_hand - reserved`; negative when backordered or when on-hand was set under what is reserved',
    }),
    low_stock_threshold: z.number().int(),
    backorder: z.enum(BACKORDER_POLICIES),
    level: z.enum(STOCK_LEVELS),
    reservation_count: z.number().int().openapi({ description: 'Unexpired reservations' }),
  })
  .openapi('AdminInventory');
export type AdminInventory = z.infer<typeof AdminInventorySchema>;

/** The object's snapshot with the SKU D1 holds now (the object may not have heard of a renamed SKU yet). */
export function serializeAdminInventory(sku: string, snapshot: StockSnapshot): AdminInventory {
  return {
    variant_id: snapshot.variant_id,
    sku,
    on_hand: snapshot.on_hand,
    reserved: snapshot.reserved,
    available: snapshot.available,
    low_stock_threshold: snapshot.low_stock_threshold,
    backorder: snapshot.backorder,
    level: snapshot.level,
    reservation_count: snapshot.reservation_count,
  };
}

export const AdminReservationSchema = z
  .object({
    id: z
      .string()
      .openapi({ example: 'line_01JD3Q6C5W9ZK2M4T8R7XPN0AB', description: 'The cart line it holds for' }),
    owner: z.string().openapi({ example: 'cart_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    quantity: z.number().int(),
    expires_at: Timestamp,
    created_at: Timestamp,
  })
  .openapi('AdminReservation');

export const AdminReservationListSchema = z
  .object({ data: z.array(AdminReservationSchema), page: PageInfoSchema })
  .openapi('AdminReservationList');
