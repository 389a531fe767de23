import { asc, eq, inArray } from 'drizzle-orm';
import { collections, collectionTranslations, productCollections } from '../../db/schema';
import { iso } from '../../lib/catalog-fields';
import type { Database } from '../../lib/db';
import { notFound } from '../../lib/errors';
import { afterCursor, paginate } from '../../lib/pagination';
import { rebuildMarksOf, rebuildSinceByTarget } from '../storefront/rebuild';
import type { AdminCollection } from './admin-schemas';

const SORT = 'id';

type CollectionRow = typeof collections.$inferSelect;
type TranslationRow = typeof collectionTranslations.$inferSelect;

function serializeCollection(
  row: CollectionRow,
  translations: TranslationRow[],
  productIds: string[],
  rebuildSince: string | undefined,
): AdminCollection {
  return {
    id: row.id,
    handle: row.handle,
    translations: Object.fromEntries(
      translations.map((t) => [t.locale, { title: t.title, description: t.description }]),
    ),
    product_ids: productIds,
    storefront_rebuild_since: rebuildSince ?? null,
    created_at: iso(row.createdAt),
    updated_at: iso(row.updatedAt),
  };
}

async function withDetails(db: Database, rows: CollectionRow[]): Promise<AdminCollection[]> {
  const ids = rows.map((r) => r.id);
  if (ids.length === 0) return [];
  const [translations, links, marks] = await db.batch([
    db.select().from(collectionTranslations).where(inArray(collectionTranslations.collectionId, ids)),
    db
      .select()
      .from(productCollections)
      .where(inArray(productCollections.collectionId, ids))
      .orderBy(asc(productCollections.productId)),
    rebuildMarksOf(db, ids),
  ]);
  const rebuildSince = rebuildSinceByTarget(marks);
  return rows.map((row) =>
    serializeCollection(
      row,
      translations.filter((t) => t.collectionId === row.id),
      links.filter((l) => l.collectionId === row.id).map((l) => l.productId),
      rebuildSince.get(row.id),
    ),
  );
}

export async function getCollection(db: Database, id: string): Promise<AdminCollection> {
  const row = await db.select().from(collections).where(eq(collections.id, id)).get();
  const [collection] = row ? await withDetails(db, [row]) : [];
  if (!collection) throw notFound('Collection');
  return collection;
}

export async function listCollections(db: Database, query: { limit: number; cursor?: string | undefined }) {
  const rows = await db
    .select()
    .from(collections)
    .where(afterCursor(collections.id, query.cursor, SORT))
    .orderBy(asc(collections.id))
    .limit(query.limit + 1);
  const page = paginate(rows, query.limit, SORT, (r) => [r.id]);
  return { data: await withDetails(db, page.data), page: page.page };
}
