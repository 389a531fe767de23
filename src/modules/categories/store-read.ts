import { localeChainParam, localePreference } from '../../lib/locale-sql';
import type { StoreContext } from '../../lib/store-context';
import type { StoreCategory } from './store-schemas';

type Row = { id: string; parent_id: string | null; handle: string; name: string; description: string };

/** The whole category tree in one query, named along the locale chain, siblings by position then handle. */
export async function categoryTree(d1: D1Database, store: StoreContext): Promise<StoreCategory[]> {
  const { results } = await d1
    .prepare(
      `SELECT c.id, c.parent_id, c.handle, t.name, t.description FROM categories c
       JOIN category_translations t ON t.category_id = c.id AND t.locale = (
         SELECT locale FROM category_translations WHERE category_id = c.id
         ORDER BY ${localePreference('locale')}, locale LIMIT 1)
       ORDER BY c.position, c.handle`,
    )
    .bind(localeChainParam(store.localeChain))
    .all<Row>();
  const nodes = new Map<string, StoreCategory>(
    results.map((r) => [
      r.id,
      { id: r.id, handle: r.handle, name: r.name, description: r.description, children: [] },
    ]),
  );
  const roots: StoreCategory[] = [];
  for (const row of results) {
    const node = nodes.get(row.id) as StoreCategory;
    const parent = row.parent_id ? nodes.get(row.parent_id) : undefined;
    (parent ? parent.children : roots).push(node);
  }
  return roots;
}
