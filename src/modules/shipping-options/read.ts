/** Staff reads of shipping options: one by id, and pages newest first (keyset on created_at, id). */
import { and, desc, eq } from 'drizzle-orm';
import { shippingOptions } from '../../db/schema';
import type { Database } from '../../lib/db';
import { notFound } from '../../lib/errors';
import { olderThan } from '../../lib/keyset';
import type { ShippingOptionRow } from './schemas';

export const SHIPPING_OPTION_SORT = 'created_at_desc';

export async function findShippingOption(db: Database, id: string): Promise<ShippingOptionRow> {
  const row = await db.select().from(shippingOptions).where(eq(shippingOptions.id, id)).get();
  if (!row) throw notFound('Shipping option');
  return row;
}

export function listShippingOptions(
  db: Database,
  filters: { regionId?: string | undefined },
  page: { limit: number; after: [number, string] | null },
) {
  return db
    .select()
    .from(shippingOptions)
    .where(
      and(
        filters.regionId ? eq(shippingOptions.regionId, filters.regionId) : undefined,
        olderThan(shippingOptions.createdAt, shippingOptions.id, page.after),
      ),
    )
    .orderBy(desc(shippingOptions.createdAt), desc(shippingOptions.id))
    .limit(page.limit + 1);
}
