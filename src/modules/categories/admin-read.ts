import { and, asc, eq, inArray, isNull, type SQL } from 'drizzle-orm';
import { categories, categoryTranslations } from '../../db/schema';
import { iso } from '../../lib/catalog-fields';
import type { Database } from '../../lib/db';
import { notFound } from '../../lib/errors';
import { afterCursor, paginate } from '../../lib/pagination';
import { rebuildMarksOf, rebuildSinceByTarget } from '../storefront/rebuild';
import type { AdminCategory } from './admin-schemas';

const SORT = 'id';

type CategoryRow = typeof categories.$inferSelect;
type TranslationRow = typeof categoryTranslations.$inferSelect;

function serializeCategory(
  row: CategoryRow,
  translations: TranslationRow[],
  rebuildSince: string | undefined,
): AdminCategory {
  return {
    id: row.id,
    handle: row.handle,
    parent_id: row.parentId,
    position: row.position,
    translations: Object.fromEntries(
      translations.map((t) => [t.locale, { name: t.name, description: t.description }]),
    ),
    storefront_rebuild_since: rebuildSince ?? null,
    created_at: iso(row.createdAt),
    updated_at: iso(row.updatedAt),
  };
}

/** The categories with their translations and storefront rebuild under way, read in one round trip. */
async function withDetails(db: Database, rows: CategoryRow[]): Promise<AdminCategory[]> {
  const ids = rows.map((r) => r.id);
  if (ids.length === 0) return [];
  const [translations, marks] = await db.batch([
    db.select().from(categoryTranslations).where(inArray(categoryTranslations.categoryId, ids)),
    rebuildMarksOf(db, ids),
  ]);
  const rebuildSince = rebuildSinceByTarget(marks);
  return rows.map((row) =>
    serializeCategory(
      row,
      translations.filter((t) => t.categoryId === row.id),
      rebuildSince.get(row.id),
    ),
  );
}

export async function getCategory(db: Database, id: string): Promise<AdminCategory> {
  const row = await db.select().from(categories).where(eq(categories.id, id)).get();
  if (!row) throw notFound('Category');
  const [category] = await withDetails(db, [row]);
  if (!category) throw notFound('Category');
  return category;
}

export async function listCategories(
  db: Database,
  query: { limit: number; cursor?: string | undefined; parent_id?: string | undefined },
) {
  const conditions: (SQL | undefined)[] = [afterCursor(categories.id, query.cursor, SORT)];
  if (query.parent_id === 'root') conditions.push(isNull(categories.parentId));
  else if (query.parent_id) conditions.push(eq(categories.parentId, query.parent_id));
  const rows = await db
    .select()
    .from(categories)
    .where(and(...conditions))
    .orderBy(asc(categories.id))
    .limit(query.limit + 1);
  const page = paginate(rows, query.limit, SORT, (r) => [r.id]);
  return { data: await withDetails(db, page.data), page: page.page };
}
