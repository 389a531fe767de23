import { z } from '@hono/zod-openapi';
import { BACKORDER_POLICIES, STOCK_LEVELS } from '../../db/schema';
import { StoreContextQuery } from '../regions/schemas';
import type { StockSnapshot } from './stock-types';

export const AvailabilityParams = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'prod_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
});

export const AvailabilityQuery = z.object(StoreContextQuery);

/** At most one listing page's products: the answer's cost stays in proportion to a page. */
export const MAX_STOCK_LEVEL_PRODUCTS = 50;

export const StockLevelsQuery = z.object({
  ...StoreContextQuery,
  product_ids: z
    .string()
    .transform((text) => [...new Set(text.split(','))])
    .pipe(
      z
        .array(z.string().regex(/^prod_[0-9A-Z]{26}$/, 'Not a product id'))
        .min(1)
        .max(MAX_STOCK_LEVEL_PRODUCTS, `At most ${MAX_STOCK_LEVEL_PRODUCTS} products`),
    )
    .openapi({
      type: 'string',
      description: `Comma-separated product ids (at most ${MAX_STOCK_LEVEL_PRODUCTS}), e.g. those of a listing page`,
      example: 'prod_01JD3Q6C5W9ZK2M4T8R7XPN0AB,prod_01JD3Q6C5W9ZK2M4T8R7XPN0AC',
    }),
});

const Level = z.enum(STOCK_LEVELS);

export const StockLevelsSchema = z
  .object({
    data: z.array(
      z.object({
        product_id: z.string(),
        level: Level.openapi({ description: 'The best level of its variants' }),
        variants: z.array(z.object({ variant_id: z.string(), level: Level })),
      }),
    ),
  })
  .openapi('StockLevels');
export type StockLevels = z.infer<typeof StockLevelsSchema>;

const VariantAvailabilitySchema = z
  .object({
    variant_id: z.string().openapi({ example: 'var_01JD3Q6C5W9ZK2M4T8R7XPN0AB' }),
    sku: z.string(),
    available: z.number().int().min(0).openapi({ example: 3, description: 'Units a shopper can add now' }),
    level: z.enum(STOCK_LEVELS),
    backorder: z.enum(BACKORDER_POLICIES),
    purchasable: z
      .boolean()
      .openapi({ description: 'Whether a cart can take it now: units available, or backorders allowed' }),
  })
  .openapi('VariantAvailability');

export const ProductAvailabilitySchema = z
  .object({ product_id: z.string(), variants: z.array(VariantAvailabilitySchema) })
  .openapi('ProductAvailability');
export type ProductAvailability = z.infer<typeof ProductAvailabilitySchema>;

/**
 * What a shopper may know of a variant's stock: never below zero, never who holds it. Also what live stock
 * events carry (src/durable-objects/stock-broadcast.ts).
 */
export function shopperStock(snapshot: StockSnapshot) {
  const available = Math.max(0, snapshot.available);
  return {
    variant_id: snapshot.variant_id,
    available,
    level: snapshot.level,
    backorder: snapshot.backorder,
    purchasable: available > 0 || snapshot.backorder === 'allow',
  };
}

export function serializeVariantAvailability(sku: string, snapshot: StockSnapshot) {
  const { variant_id, ...stock } = shopperStock(snapshot);
  return { variant_id, sku, ...stock };
}
