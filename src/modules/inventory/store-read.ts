/**
 * Exact availability for the storefront: straight from each variant's InventoryItem object, never cached, so
 * it is as fresh as stock itself while the catalog responses around it stay cached (stock never bumps the
 * cache versions).
 */
import { STOCK_LEVELS, type StockLevel } from '../../db/schema';
import { notFound } from '../../lib/errors';
import { stockSnapshots } from './stock';
import { type ProductAvailability, type StockLevels, serializeVariantAvailability } from './store-schemas';

/** Per variant of an active product, in catalog order; 404 for a product that is not active. */
export async function productAvailability(env: Env, productId: string): Promise<ProductAvailability> {
  const [product, variants] = await env.DB.batch([
    env.DB.prepare(`SELECT id FROM products WHERE id = ? AND status = 'active'`).bind(productId),
    env.DB.prepare('SELECT id, sku FROM variants WHERE product_id = ? ORDER BY position, id').bind(productId),
  ]);
  if (!product?.results.length) throw notFound('Product');
  const rows = (variants?.results ?? []) as { id: string; sku: string }[];
  const snapshots = await stockSnapshots(
    env.INVENTORY_ITEM,
    rows.map((row) => row.id),
  );
  return {
    product_id: productId,
    variants: rows.flatMap((row) => {
      const snapshot = snapshots.get(row.id);
      return snapshot ? [serializeVariantAvailability(row.sku, snapshot)] : [];
    }),
  };
}

/** The levels of the variants of `count` products (bound in order): seeks by primary key and product index. */
export const stockLevelsSql = (count: number) =>
  `SELECT v.product_id, v.id AS variant_id, coalesce(s.level, 'out_of_stock') AS level
   FROM products p JOIN variants v ON v.product_id = p.id LEFT JOIN stock_levels s ON s.variant_id = v.id
   WHERE p.id IN (${Array.from({ length: count }, () => '?').join(',')}) AND p.status = 'active'
   ORDER BY v.position, v.id`;

/**
 * The levels `stock_levels` holds for the variants of active products among `productIds` (one query through the
 * variants' product index; no row: never stocked, out of stock). A product's level is its best variant's.
 */
export async function productStockLevels(db: D1Database, productIds: string[]): Promise<StockLevels> {
  const { results } = await db
    .prepare(stockLevelsSql(productIds.length))
    .bind(...productIds)
    .all<{ product_id: string; variant_id: string; level: StockLevel }>();
  const variants = Map.groupBy(results, (row) => row.product_id);
  const best = (levels: StockLevel[]) =>
    STOCK_LEVELS.find((level) => levels.includes(level)) ?? 'out_of_stock';
  return {
    data: productIds.flatMap((id) => {
      const rows = variants.get(id);
      if (!rows) return [];
      return [
        {
          product_id: id,
          level: best(rows.map((row) => row.level)),
          variants: rows.map(({ variant_id, level }) => ({ variant_id, level })),
        },
      ];
    }),
  };
}
