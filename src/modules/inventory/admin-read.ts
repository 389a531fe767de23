/**
 * Staff reads of stock: the variant comes from D1 (404 if there is none, and its current SKU), the figures
 * from its InventoryItem object, which is the only place they exist.
 */
import { eq } from 'drizzle-orm';
import { variants } from '../../db/schema';
import { iso } from '../../lib/catalog-fields';
import { createDb, type Database } from '../../lib/db';
import { notFound } from '../../lib/errors';
import { decodeCursor, encodeCursor } from '../../lib/pagination';
import { type AdminInventory, serializeAdminInventory } from './admin-schemas';
import { stockObject } from './stock';
import type { StockRef } from './stock-types';

const SORT = 'id';

/** The stock ref of a variant that exists in D1, with its current SKU; 404 otherwise. */
export async function variantRef(db: Database, variantId: string): Promise<Required<StockRef>> {
  const row = await db
    .select({ id: variants.id, sku: variants.sku })
    .from(variants)
    .where(eq(variants.id, variantId))
    .get();
  if (!row) throw notFound('Variant');
  return { variantId: row.id, sku: row.sku };
}

export async function getInventory(env: Env, variantId: string): Promise<AdminInventory> {
  const ref = await variantRef(createDb(env.DB), variantId);
  return serializeAdminInventory(ref.sku, await stockObject(env.INVENTORY_ITEM, variantId).snapshot(ref));
}

export async function listReservations(
  env: Env,
  variantId: string,
  query: { limit: number; cursor?: string | undefined },
) {
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, SORT, ['text'])[0];
  const ref = await variantRef(createDb(env.DB), variantId);
  const page = await stockObject(env.INVENTORY_ITEM, variantId).reservations(ref, {
    limit: query.limit,
    after,
  });
  const last = page.reservations.at(-1);
  return {
    data: page.reservations.map((r) => ({
      id: r.id,
      owner: r.owner,
      quantity: r.quantity,
      expires_at: iso(new Date(r.expiresAt)),
      created_at: iso(new Date(r.createdAt)),
    })),
    page: {
      limit: query.limit,
      next_cursor: page.hasMore && last ? encodeCursor({ sort: SORT, key: [last.id] }) : null,
    },
  };
}
