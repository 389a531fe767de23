/**
 * Exact availability for the storefront: straight from each variant's InventoryItem object, never cached, so
 * it is as fresh as stock itself while the catalog responses around it stay cached (stock never bumps the
 * cache versions).
 */
import { notFound } from '../../lib/errors';
import { stockSnapshots } from './stock';
import { type ProductAvailability, serializeVariantAvailability } from './store-schemas';

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
