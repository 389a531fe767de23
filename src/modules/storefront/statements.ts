/**
 * The SQL that keeps the storefront read model (src/db/schema/storefront.ts) equal to what the catalog tables
 * say. Every catalog write appends these statements to its batch (through refreshStorefront in projection.ts),
 * so the model changes in the same atomic D1 batch as its source: no reader sees one without the other, and a
 * rejected or failed write changes neither. Each refresh deletes the rows of its scope and rebuilds them with
 * INSERT ... SELECT from the source tables as the batch has left them, so the result never depends on what the
 * rows held before, on which of two concurrent writes ran first, or on the service computing anything itself.
 *
 * Deleting a product needs no statement: foreign keys cascade. The rows of a deleted region, category or
 * collection go in steps (rebuild.ts), as a rebuild writes them: they are too many for one batch. Where a change
 * removes the very rows that say which products it affects, the refresh runs BEFORE it and computes the rows as
 * the change will leave them ("leaving" scopes, or `withoutVariant`): deleting a variant, a leaf category or a
 * collection (the delete must stay the change's last, conditional statement), and replacing a collection's
 * product list. Those last three refresh the documents there; the lanes and full-text rows of the products follow
 * in steps (rebuild.ts), which find them in the list's lanes (a new list) or in those captured by the delete's
 * batch.
 *
 * This file imports nothing but drizzle-orm and the full-text indexes' layout (their words), so scripts (the demo
 * seed) run the very same SQL in Node.
 */
import { type SQL, sql } from 'drizzle-orm';
import {
  LARGEST_KEY,
  LOCALE_BITS,
  optionWordSql,
  PAIR_BITS,
  SEARCH_ORDERS,
  type SearchOrder,
  titleLaneWordSql,
} from '../../db/fts.ts';
import { priceWordsSql } from '../../db/price-words.ts';

/** `storefront_documents.document`: what a response shows of a product in any region (documentsInsert below). */
export type StorefrontDocument = {
  handle: string;
  /** Epoch milliseconds. */
  created_at: number;
  /** By locale. */
  translations: {
    locale: string;
    title: string;
    description: string;
    seo_title: string | null;
    seo_description: string | null;
  }[];
  /** Option names by position, then name. */
  options: string[];
  /** By position, then id. */
  images: { url: string; alt: Record<string, string>; position: number }[];
  /** By position, then id; `prices` maps a currency to minor units. */
  variants: {
    id: string;
    sku: string;
    title: string;
    options: Record<string, string>;
    weight_grams: number | null;
    barcode: string | null;
    prices: Record<string, number>;
  }[];
  /** The categories the product is in (not their ancestors), by handle; `names` maps a locale to a name. */
  categories: { id: string; handle: string; names: Record<string, string> }[];
  /** By handle; `names` maps a locale to a title. */
  collections: { id: string; handle: string; names: Record<string, string> }[];
};

/** What a write changed, and so which rows of the model to rebuild. */
export type StorefrontScope =
  /** Products written (created, updated, archived, their variants or prices), minus a variant being deleted. */
  | { products: string[]; withoutVariant?: string }
  /** A category's name or handle changed: the documents of the products in it. */
  | { category: string }
  /**
   * The documents of the products in a collection: its names or handle changed, or it has a new product list
   * (whose lanes follow in steps: `collectionStep`).
   */
  | { collectionDocuments: string }
  /**
   * A category moved: the products in it or below it have new ancestors, so new lanes; those of them in the
   * step under way of the category's rebuild (rebuild.ts steps through them in id order).
   */
  | { categoryStep: string }
  /**
   * A leaf category is about to be deleted: its products' documents as if it were gone (their lanes and
   * full-text rows follow in steps: `deletedCategoryStep`).
   */
  | { leavingCategory: string }
  /** A collection was created: its products' documents and the collection's lanes. */
  | { collection: string }
  /**
   * A collection is about to get another product list (`keeping`: its products) or be deleted: the documents of
   * the products it lists and will not, without it (after a new list, the documents of the products it has are
   * rebuilt as for a rename; the lanes follow in steps: `collectionStep`, `deletedCollectionStep`).
   */
  | { leavingCollection: string; keeping?: string[] }
  /**
   * A collection has a new product list: every lane and full-text row of the products it lists now or listed
   * before, those of them in the step under way of the collection's rebuild (rebuild.ts).
   */
  | { collectionStep: string }
  /**
   * A leaf category is deleted (or about to be, in the delete's own batch): every entry and full-text row,
   * without it, of the products it listed that are in the step under way of the deletion's rebuild (rebuild.ts
   * walks the products captured in `storefront_rebuild_products`, and deletes its lanes, empty by then, at the
   * last step).
   */
  | { deletedCategoryStep: string }
  /**
   * A collection is deleted (or about to be): the entries in its lanes and the full-text rows, without it, of the
   * products it listed that are in the step under way of the deletion's rebuild (a product's other lanes do not
   * depend on its collections; rebuild.ts deletes its lanes, empty by then, at the last step).
   */
  | { deletedCollectionStep: string }
  /**
   * A region was created or its currency or locales changed: that region's rows of the products in the step
   * under way of its rebuild (rebuild.ts steps through every product in id order).
   */
  | { regionStep: string }
  /**
   * A region is deleted (or about to be, in the delete's own batch): its entries and numbered pairs of the
   * products in the step under way of the deletion's steps, which walk every product as a region's rebuild does.
   */
  | { deletedRegionStep: string }
  /** Everything, from scratch: the migration backfill and the demo seed. */
  | { everything: true };

export type StorefrontTable =
  | 'storefront_documents'
  | 'storefront_lanes'
  | 'storefront_entries'
  | 'storefront_search_rows'
  | 'storefront_search'
  | 'storefront_search_prices'
  | 'storefront_search_dates'
  | 'storefront_search_titles'
  | 'storefront_title_crowds';

/**
 * One statement of a refresh. An insert's SELECT yields the table's columns in their declared order
 * (src/db/schema/storefront.ts), which is the order drizzle and statementSql below both name them in.
 */
export type StorefrontStatement =
  | { delete: StorefrontTable; where: SQL }
  | { insert: StorefrontTable; select: SQL; skipExisting?: boolean }
  /**
   * Rows of storefront_search_rows: a pair not numbered yet gets its number, a numbered one keeps it; both get
   * the keys the select gives.
   */
  | { numberPairs: SQL }
  /** Sets `title_row` to `value` on the entries `where` selects. */
  | { titleRows: { value: SQL; where: SQL } };

/** What the statements are built from. */
type Plan = {
  /** A SELECT of the ids of the products whose rows are rebuilt. */
  products: SQL;
  /** The deletes that clear the rows about to be rebuilt. */
  clear: StorefrontStatement[];
  documents: boolean;
  /** Which entries to rebuild: every lane of the products, one region's or one collection's, or none. */
  entries: 'products' | { region: string } | { collection: string } | 'none';
  /** Which full-text rows to rebuild from the entries: the products' in every region, in one region, or none. */
  search: 'products' | { region: string } | 'none';
  withoutVariant?: string;
  withoutCategory?: string;
  withoutCollection?: string;
  /** Every lane is written from empty (`everything`), which spreads its labels: none can be shared. */
  fromEmptyLanes?: true;
};

/**
 * The first `chunk` product ids after `after` (a value, or an SQL expression such as a column of the statement it
 * is part of), in id order; without a chunk, all of them in no order and perhaps repeated (for EXISTS, which
 * stops at the first).
 */
export type IdsAfter = { after: string | SQL; chunk?: number };

const inOrder = (column: string, chunk: number | undefined) =>
  chunk === undefined ? sql`` : sql`ORDER BY ${sql.raw(column)} LIMIT ${chunk}`;

/** The ids (`id`) of products: a walk of the products' primary key. */
export const productsAfter = ({ after, chunk }: IdsAfter) =>
  sql`SELECT id FROM products WHERE id > ${after} ${inOrder('id', chunk)}`;

/**
 * The ids (`id`) of products in `category` or below it: a seek of each subtree category's links (by category,
 * then product) past `after`, sorted.
 */
export const subtreeProductsAfter = (category: string, { after, chunk }: IdsAfter) =>
  sql`SELECT DISTINCT pc.product_id AS id FROM product_categories pc WHERE pc.category_id IN (
      WITH RECURSIVE subtree(id) AS (
        SELECT ${category} UNION SELECT c.id FROM categories c JOIN subtree ON c.parent_id = subtree.id
      ) SELECT id FROM subtree) AND pc.product_id > ${after} ${inOrder('pc.product_id', chunk)}`;

/**
 * The ids (`id`) of products `collection` lists now (its links, by collection then product) or listed before a
 * new product list, until a step of its rebuild reaches them (its entries: its lanes, then each lane's primary
 * key by product), past `after`, sorted.
 */
export const collectionProductsAfter = (collection: string, { after, chunk }: IdsAfter) =>
  // Without a chunk, for EXISTS or IN, repeats do not matter, and UNION ALL can stop at the first row.
  sql`SELECT id FROM (
      SELECT product_id AS id FROM product_collections WHERE collection_id = ${collection} AND product_id > ${after}
      ${chunk === undefined ? sql`UNION ALL` : sql`UNION`}
      SELECT e.product_id FROM storefront_lanes l CROSS JOIN storefront_entries e ON e.lane = l.lane
      WHERE l.collection_id = ${collection} AND e.product_id > ${after}
    ) ${inOrder('id', chunk)}`;

/** The ids (`id`) of the products a deleted category or collection listed, past `after`, sorted. */
export const deletedListProductsAfter = (target: string, { after, chunk }: IdsAfter) =>
  sql`SELECT product_id AS id FROM storefront_rebuild_products WHERE target = ${target} AND product_id > ${after}
    ${inOrder('product_id', chunk)}`;

/**
 * The products of the step under way of `target`'s rebuild, which rebuild.ts fixes in `storefront_rebuilds`
 * before the step's refresh: fixed, because a collection's products are partly known by the entries the step
 * rewrites, so a query run again by each statement would lose them after the first.
 */
const stepProducts = (target: string) =>
  sql`SELECT value FROM json_each((SELECT step_products FROM storefront_rebuilds WHERE target = ${target}))`;

/** The ids of `list`, each once: a product named twice would be rebuilt twice, and its rows written twice fail. */
const ids = (list: string[]) => sql`SELECT DISTINCT value FROM json_each(${JSON.stringify(list)})`;

const clearDocuments = (products: SQL): StorefrontStatement => ({
  delete: 'storefront_documents',
  where: sql`product_id IN (${products})`,
});
const clearEntries = (products: SQL): StorefrontStatement => ({
  delete: 'storefront_entries',
  where: sql`product_id IN (${products})`,
});

/**
 * The products' entries in the lanes of one region or one collection. `+lane`: found by product (an index), then
 * kept if the lane is one of those; by lane, SQLite would probe every such lane for every product.
 */
const clearEntriesIn = (
  products: SQL,
  lanes: { region: string } | { collection: string },
): StorefrontStatement => {
  const owner =
    'region' in lanes ? sql`region_id = ${lanes.region}` : sql`collection_id = ${lanes.collection}`;
  return {
    delete: 'storefront_entries',
    where: sql`product_id IN (${products}) AND +lane IN (SELECT lane FROM storefront_lanes WHERE ${owner})`,
  };
};

/** Every entry and full-text row of the products in the step under way of `target`'s rebuild. */
const everyLaneOfStep = (target: string): Plan => {
  const products = stepProducts(target);
  return {
    products,
    clear: [clearEntries(products)],
    documents: false,
    entries: 'products',
    search: 'products',
  };
};

const documentsOnly = (products: SQL): Plan => ({
  products,
  clear: [clearDocuments(products)],
  documents: true,
  entries: 'none',
  search: 'none',
});

function planOf(scope: StorefrontScope): Plan {
  if ('products' in scope) {
    const products = ids(scope.products);
    return {
      products,
      clear: [clearDocuments(products), clearEntries(products)],
      documents: true,
      entries: 'products',
      search: 'products',
      ...(scope.withoutVariant === undefined ? {} : { withoutVariant: scope.withoutVariant }),
    };
  }
  // A name or a handle is only in the documents: lanes, entries and full-text rows name ids.
  if ('category' in scope) {
    return documentsOnly(
      sql`SELECT product_id FROM product_categories WHERE category_id = ${scope.category}`,
    );
  }
  if ('collectionDocuments' in scope) {
    return documentsOnly(
      sql`SELECT product_id FROM product_collections WHERE collection_id = ${scope.collectionDocuments}`,
    );
  }
  if ('collectionStep' in scope) {
    const { collectionStep: collection } = scope;
    const products = stepProducts(collection);
    return {
      products,
      // Only the collection's lanes: a product's other lanes do not depend on its collections.
      clear: [clearEntriesIn(products, { collection })],
      documents: false,
      entries: { collection },
      search: 'products',
    };
  }
  if ('categoryStep' in scope) return everyLaneOfStep(scope.categoryStep);
  if ('leavingCategory' in scope) {
    const { leavingCategory: id } = scope;
    return {
      ...documentsOnly(sql`SELECT product_id FROM product_categories WHERE category_id = ${id}`),
      withoutCategory: id,
    };
  }
  if ('collection' in scope) {
    const products = sql`SELECT product_id FROM product_collections WHERE collection_id = ${scope.collection}`;
    return {
      products,
      clear: [
        clearDocuments(products),
        {
          delete: 'storefront_entries',
          where: sql`lane IN (SELECT lane FROM storefront_lanes WHERE collection_id = ${scope.collection})`,
        },
      ],
      documents: true,
      entries: { collection: scope.collection },
      search: 'products',
    };
  }
  if ('leavingCollection' in scope) {
    const { leavingCollection: id, keeping = [] } = scope;
    return {
      ...documentsOnly(sql`SELECT product_id FROM product_collections WHERE collection_id = ${id}
        AND product_id NOT IN (${ids(keeping)})`),
      withoutCollection: id,
    };
  }
  // In the delete's own batch, where the first step runs, the category or collection is still there.
  if ('deletedCategoryStep' in scope) {
    const { deletedCategoryStep: id } = scope;
    return { ...everyLaneOfStep(id), withoutCategory: id };
  }
  if ('deletedCollectionStep' in scope) {
    const { deletedCollectionStep: id } = scope;
    const products = stepProducts(id);
    return {
      products,
      clear: [clearEntriesIn(products, { collection: id })],
      documents: false,
      entries: 'none',
      search: 'products',
      withoutCollection: id,
    };
  }
  if ('regionStep' in scope) {
    const { regionStep: region } = scope;
    const products = stepProducts(region);
    return {
      products,
      // In every lane of the region, those of locales it no longer offers included: rebuild.ts drops those lanes
      // once every product is done and they are empty.
      clear: [clearEntriesIn(products, { region })],
      documents: false,
      entries: { region },
      search: { region },
    };
  }
  if ('deletedRegionStep' in scope) {
    const { deletedRegionStep: region } = scope;
    const products = stepProducts(region);
    return {
      products,
      // Their triggers delete the entries' title rows and the pairs' full-text rows.
      clear: [
        clearEntriesIn(products, { region }),
        {
          delete: 'storefront_search_rows',
          where: sql`product_id IN (${products}) AND region_id = ${region}`,
        },
      ],
      documents: false,
      entries: 'none',
      search: 'none',
    };
  }
  return {
    products: sql`SELECT id FROM products`,
    clear: [
      { delete: 'storefront_documents', where: sql`true` },
      { delete: 'storefront_lanes', where: sql`true` },
    ],
    documents: true,
    entries: 'products',
    search: 'products',
    fromEmptyLanes: true,
  };
}

/** `condition(id)`, or nothing when there is no id. */
const unless = (id: string | undefined, condition: (id: string) => SQL) =>
  id === undefined ? sql`` : condition(id);

/** Leaves out the variant a deleting plan removes, from a query of variants `v`. */
const variantFilterOf = (plan: Plan) => unless(plan.withoutVariant, (id) => sql` AND v.id <> ${id}`);

/**
 * The document of each active product in the plan: the product's content, the same in every region, with its
 * categories and collections named in every locale. Lists are in the order responses show them.
 */
function documentsInsert(plan: Plan): StorefrontStatement {
  const variantFilter = variantFilterOf(plan);
  const categoryFilter = unless(plan.withoutCategory, (id) => sql` AND l.category_id <> ${id}`);
  const collectionFilter = unless(plan.withoutCollection, (id) => sql` AND l.collection_id <> ${id}`);
  // The products are looked up by id (CROSS JOIN keeps that order): left to itself, SQLite walks every active
  // product by the status index and tests each against the list, which grows with the catalog.
  const select = sql`WITH picked(id) AS MATERIALIZED (${plan.products})
    SELECT p.id, json_object(
      'handle', p.handle,
      'created_at', p.created_at,
      'translations', (SELECT json_group_array(json_object(
          'locale', t.locale, 'title', t.title, 'description', t.description,
          'seo_title', t.seo_title, 'seo_description', t.seo_description) ORDER BY t.locale)
        FROM product_translations t WHERE t.product_id = p.id),
      'options', (SELECT json_group_array(o.name ORDER BY o.position, o.name)
        FROM product_options o WHERE o.product_id = p.id),
      'images', (SELECT json_group_array(json_object(
          'url', i.url, 'alt', json(i.alt), 'position', i.position) ORDER BY i.position, i.id)
        FROM product_images i WHERE i.product_id = p.id),
      'variants', (SELECT json_group_array(json_object(
          'id', v.id, 'sku', v.sku, 'title', v.title, 'options', json(v.options),
          'weight_grams', v.weight_grams, 'barcode', v.barcode,
          'prices', (SELECT json_group_object(pr.currency_code, pr.amount) FROM prices pr WHERE pr.variant_id = v.id)
        ) ORDER BY v.position, v.id)
        FROM variants v WHERE v.product_id = p.id${variantFilter}),
      'categories', (SELECT json_group_array(json_object(
          'id', c.id, 'handle', c.handle,
          'names', (SELECT json_group_object(ct.locale, ct.name) FROM category_translations ct WHERE ct.category_id = c.id)
        ) ORDER BY c.handle)
        FROM product_categories l JOIN categories c ON c.id = l.category_id WHERE l.product_id = p.id${categoryFilter}),
      'collections', (SELECT json_group_array(json_object(
          'id', c.id, 'handle', c.handle,
          'names', (SELECT json_group_object(ct.locale, ct.title) FROM collection_translations ct WHERE ct.collection_id = c.id)
        ) ORDER BY c.handle)
        FROM product_collections l JOIN collections c ON c.id = l.collection_id WHERE l.product_id = p.id${collectionFilter}))
    FROM picked CROSS JOIN products p ON p.id = picked.id WHERE p.status = 'active'`;
  return { insert: 'storefront_documents', select };
}

type Entries = Exclude<Plan['entries'], 'none'>;

/**
 * The lists each product of the plan is in, as CTEs: `tree` (each category link plus every ancestor), `lists`
 * (the whole catalog, those categories, collections), for the products in `picked`.
 */
function listed(plan: Plan, entries: Entries): SQL {
  const categoryFilter = unless(plan.withoutCategory, (id) => sql` AND pc.category_id <> ${id}`);
  const lists =
    typeof entries === 'object' && 'collection' in entries
      ? sql`SELECT product_id, NULL, collection_id FROM product_collections
          WHERE collection_id = ${entries.collection} AND product_id IN (SELECT id FROM picked)`
      : sql`SELECT id, NULL, NULL FROM picked
          UNION ALL SELECT product_id, category_id, NULL FROM tree
          UNION ALL SELECT pcol.product_id, NULL, pcol.collection_id FROM product_collections pcol
            WHERE pcol.product_id IN (SELECT id FROM picked)`;
  return sql`picked(id) AS MATERIALIZED (${plan.products}),
    tree(product_id, category_id) AS (
      SELECT pc.product_id, pc.category_id FROM product_categories pc
        WHERE pc.product_id IN (SELECT id FROM picked)${categoryFilter}
      UNION
      SELECT tree.product_id, c.parent_id FROM tree JOIN categories c ON c.id = tree.category_id
        WHERE c.parent_id IS NOT NULL
    ),
    lists(product_id, category_id, collection_id) AS (${lists})`;
}

/** ` AND <column> = <region>` when the plan's entries or full-text rows are one region's, else nothing. */
const inRegion = (part: Entries | Search, column: string) =>
  typeof part === 'object' && 'region' in part ? sql` AND ${sql.raw(column)} = ${part.region}` : sql``;

/**
 * The rows each product of the plan has in each lane: `sold` (per region: active with a variant priced in its
 * currency, and the price range), `titled` (per region locale: the title along that locale's chain, the
 * locale first, then the region's others in order, else the first locale alphabetically, as responses pick it),
 * and its lists (listed above).
 */
function placed(plan: Plan, entries: Entries): SQL {
  const variantFilter = variantFilterOf(plan);
  return sql`WITH RECURSIVE
    ${listed(plan, entries)},
    sold AS MATERIALIZED (
      SELECT r.id AS region_id, r.locales, p.id AS product_id, p.created_at,
        MIN(pr.amount) AS min_price, MAX(pr.amount) AS max_price
      FROM picked
      CROSS JOIN products p ON p.id = picked.id
      CROSS JOIN variants v ON v.product_id = p.id
      CROSS JOIN regions r
      CROSS JOIN prices pr ON pr.variant_id = v.id AND pr.currency_code = r.currency_code
      WHERE p.status = 'active'${inRegion(entries, 'r.id')}${variantFilter}
      GROUP BY r.id, p.id
    ),
    titled AS MATERIALIZED (
      SELECT s.*, loc.value AS locale,
        (SELECT t.title FROM product_translations t LEFT JOIN json_each(s.locales) rl ON rl.value = t.locale
          WHERE t.product_id = s.product_id
          ORDER BY CASE WHEN t.locale = loc.value THEN -1 ELSE coalesce(rl.key, 1000000) END, t.locale
          LIMIT 1) AS title
      FROM sold s CROSS JOIN json_each(s.locales) loc
    ),
    placed AS (
      SELECT ti.region_id, ti.locale, l.category_id, l.collection_id,
        coalesce(l.category_id, l.collection_id, '') AS list_id,
        ti.product_id, ti.created_at, ti.min_price, ti.max_price, ti.title
      FROM titled ti JOIN lists l ON l.product_id = ti.product_id
      WHERE ti.title IS NOT NULL
    )`;
}

/**
 * The lanes the plan's entries may need that do not exist yet: each of the products' lists in each locale of
 * each region (the plan's, if it has one) whose currency one of the products has a price in. A lane that stays
 * empty (the product priced there is a draft, or in another list) costs one small row; deciding from the
 * entries instead would compute every entry's prices and title twice, a quarter of a write's reads. `lane` is
 * left to SQLite (NULL: the next rowid).
 */
function lanesInsert(plan: Plan, entries: Entries): StorefrontStatement {
  // WHERE true: an INSERT ... SELECT with an ON CONFLICT clause needs a WHERE to parse unambiguously.
  const select = sql`WITH RECURSIVE ${listed(plan, entries)},
    priced(id, locales) AS MATERIALIZED (
      SELECT r.id, r.locales FROM regions r
      WHERE EXISTS (SELECT 1 FROM picked CROSS JOIN variants v ON v.product_id = picked.id
        CROSS JOIN prices pr ON pr.variant_id = v.id AND pr.currency_code = r.currency_code)${inRegion(entries, 'r.id')}
    )
    SELECT NULL, r.id, loc.value, l.category_id, l.collection_id
    FROM (SELECT DISTINCT category_id, collection_id FROM lists) l
    CROSS JOIN priced r CROSS JOIN json_each(r.locales) loc
    WHERE true`;
  return { insert: 'storefront_lanes', select, skipExisting: true };
}

/**
 * The label of the neighbour of entry `r` (the alias given: a row with its lane, title and product id) in its
 * lane's title order, before it (`<`) or after it (`>`): the nearest labelled entry of the same title on that side,
 * else the nearest of another title, each a seek of the title index. (A row-value comparison with `r`'s columns
 * would seek on the title alone and pass over every entry of the same title: the demo catalog has about 300 of each
 * at 100,000 products.) A plan's own entries are cleared before, so it is never one of them; an entry without a
 * label (written by a Worker from before migration 0026) is passed over, as if it were not there.
 */
export const neighbourLabel = (side: '<' | '>', r = 'r') => {
  const direction = side === '<' ? 'DESC' : 'ASC';
  return sql.raw(`coalesce(
      (SELECT n.title_label FROM storefront_entries n
        WHERE n.lane = ${r}.lane AND n.title = ${r}.title AND n.product_id ${side} ${r}.product_id
          AND n.title_label IS NOT NULL
        ORDER BY n.product_id ${direction} LIMIT 1),
      (SELECT n.title_label FROM storefront_entries n
        WHERE n.lane = ${r}.lane AND n.title ${side} ${r}.title AND n.title_label IS NOT NULL
        ORDER BY n.title ${direction}, n.product_id ${direction} LIMIT 1))`);
};

/**
 * An empty lane's first write (the seed, a new region or locale, migration 0027) spreads its entries over the
 * labels between END_ROOM and LARGEST_KEY - END_ROOM, leaving room at both ends of the lane; an entry written later
 * past its first or last label takes 2^-END_SHARE of the room left there (at least one label), not half of it.
 * So products added one at a time in title order (a sorted import, as a store's first import often is) take some
 * 68,000 writes to bring an end's labels closer than 2^10 and 207,000 to use up its room, where the fixed stride
 * of 2^20 it replaces used it up in about 1,040 (and a spread over every label, before that, in about 20 in a lane
 * of 5,000 entries).
 */
const END_ROOM = 2 ** 30;
const END_SHARE = 14;

/**
 * The plan's entries, each in every lane of its lists. In a whole-catalog lane an entry gets a title label
 * (src/db/fts.ts) between its neighbours': the entries of the plan that fall between the same two neighbours share
 * that gap out evenly in (title, product id) order, so a product written again takes the middle of its gap. A gap
 * at a lane's end reaches past its one neighbour 2^-END_SHARE of the room there for each entry (to 0 or
 * LARGEST_KEY at most); an empty lane's first write spreads its entries between END_ROOM and LARGEST_KEY -
 * END_ROOM. Where a gap has fewer labels than entries, neighbours share one, which costs the listing reads, never
 * order, until the storefront-rebuild job spreads them again (crowdsInsert). (The INSERT reads the table it writes,
 * so SQLite computes every row before it writes one.)
 */
function entriesInsert(plan: Plan, entries: Entries): StorefrontStatement {
  const gap = 'PARTITION BY lane, before, after';
  const n = `count(*) OVER (${gap})`;
  const low = `coalesce(before, CASE WHEN after IS NULL THEN ${END_ROOM}
    ELSE max(0, after - (${n} + 1) * max(1, after >> ${END_SHARE})) END)`;
  const high = `coalesce(after, CASE WHEN before IS NULL THEN ${LARGEST_KEY - END_ROOM}
    ELSE min(${LARGEST_KEY}, before + (${n} + 1) * max(1, (${LARGEST_KEY} - before) >> ${END_SHARE})) END)`;
  const select = sql`${placed(plan, entries)},
    laned AS MATERIALIZED (
      SELECT ln.lane, pl.product_id, pl.created_at, pl.min_price, pl.max_price, pl.title, pl.list_id
      FROM placed pl JOIN storefront_lanes ln
        ON ln.region_id = pl.region_id AND ln.locale = pl.locale AND ln.list_id = pl.list_id
    ),
    neighbours AS MATERIALIZED (
      SELECT r.lane, r.product_id, r.title, ${neighbourLabel('<')} AS before, ${neighbourLabel('>')} AS after
      FROM laned r WHERE r.list_id = ''
    ),
    labels AS MATERIALIZED (
      SELECT lane, product_id,
        ${sql.raw(low)} + (${sql.raw(high)} - ${sql.raw(low)})
          * row_number() OVER (${sql.raw(gap)} ORDER BY title, product_id) / (${sql.raw(n)} + 1) AS label
      FROM neighbours
    )
    SELECT r.lane, r.product_id, r.created_at, r.min_price, r.max_price, r.title, lb.label, NULL
    FROM laned r LEFT JOIN labels lb ON lb.lane = r.lane AND lb.product_id = r.product_id`;
  return { insert: 'storefront_entries', select };
}

/**
 * Marks the plan's whole-catalog entries that share their title label with a neighbour (their gap had no label
 * left, or fewer than the plan's entries in it): the storefront-rebuild job spreads the labels around each again
 * (title-respread.ts). Run after the entries are written. entriesInsert's integer division takes a label below the
 * next entry's unless the one before has it too, so an entry shares the next one's label only where it shares
 * the one before's, or has none before it (a lane's start, where its room has run out): the neighbour before is
 * sought (one or two seeks of the title index an entry), the one after only at a lane's start.
 */
function crowdsInsert(plan: Plan, entries: 'products' | { region: string }): StorefrontStatement {
  // One region's by its lanes, then each product's entry there (primary key); every region's by product, keeping
  // the labelled ones. Never a seek in a list's lane: no entry there has a label, so it would walk the lane.
  const whole =
    typeof entries === 'object'
      ? sql`SELECT e.lane, e.product_id, e.title, e.title_label FROM regions r CROSS JOIN ${WHOLE_CATALOG_LANES_OF_R}
          CROSS JOIN picked CROSS JOIN storefront_entries e ON e.lane = l.lane AND e.product_id = picked.id
          WHERE r.id = ${entries.region} AND e.title_label IS NOT NULL`
      : sql`SELECT e.lane, e.product_id, e.title, e.title_label
          FROM picked CROSS JOIN storefront_entries e ON e.product_id = picked.id WHERE e.title_label IS NOT NULL`;
  const select = sql`WITH picked(id) AS MATERIALIZED (${plan.products}),
    whole AS MATERIALIZED (${whole}),
    near AS MATERIALIZED (SELECT e.*, ${neighbourLabel('<', 'e')} AS before FROM whole e)
    SELECT e.lane, e.product_id FROM near e
    WHERE e.title_label = e.before OR (e.before IS NULL AND e.title_label = ${neighbourLabel('>', 'e')})`;
  return { insert: 'storefront_title_crowds', select, skipExisting: true };
}

type Search = Exclude<Plan['search'], 'none'>;

/** `l`, the whole-catalog lane of each locale of the region `r`: one index seek each. */
const WHOLE_CATALOG_LANES_OF_R = sql`json_each(r.locales) loc
  CROSS JOIN storefront_lanes l ON l.region_id = r.id AND l.locale = loc.value AND l.list_id = ''`;

/** Whether a (`product`, `region`) pair, named by two columns, is one whose full-text row the plan rebuilds. */
const searchedIn = (plan: Plan, search: Search, product: string, region: string) =>
  sql`${sql.raw(product)} IN (${plan.products})${inRegion(search, region)}`;

/**
 * Numbers the (product, region) pairs newly sold, in the order the products were created; a pair keeps its
 * number for as long as both exist, so rewriting a product's text never moves it in the index's order. Every
 * pair sold gets the keys of its lowest price there (the same in each of the region's lanes) and of its product's
 * creation.
 */
function searchRowsInsert(plan: Plan, search: Search): StorefrontStatement {
  // Each region's whole-catalog lanes (one per locale), then a primary-key probe per product and lane (CROSS
  // JOIN keeps that order): left to itself, SQLite walks every entry of the region's lanes.
  return {
    numberPairs: sql`WITH picked(id) AS MATERIALIZED (${plan.products})
    SELECT NULL, e.product_id, r.id, ${sql.raw(SEARCH_ORDERS.map((o) => o.keySql(`MIN(e.${o.field})`)).join(', '))}
    FROM regions r CROSS JOIN ${WHOLE_CATALOG_LANES_OF_R}
    CROSS JOIN picked
    CROSS JOIN storefront_entries e ON e.lane = l.lane AND e.product_id = picked.id
    WHERE true${inRegion(search, 'r.id')}
    GROUP BY e.product_id, r.id ORDER BY MIN(e.created_at), e.product_id`,
  };
}

/** The rowid of a pair's row in an ordered copy, from its row of storefront_search_rows `k`. */
const orderedRowid = (order: SearchOrder) => sql.raw(`(k.${order.keyColumn} << ${PAIR_BITS}) | k.row`);

/**
 * Whether the pair of `k` has a row in an ordered copy: a key, and a number that fits its bits in the copy's rowid
 * (src/db/fts.ts).
 */
const hasOrderedRow = (order: SearchOrder) =>
  sql.raw(`k.${order.keyColumn} IS NOT NULL AND k.row < ${2 ** PAIR_BITS}`);

/** Run before the pairs are numbered again: a row is found by the key it was written with. */
const orderedClear = (plan: Plan, search: Search, order: SearchOrder): StorefrontStatement => ({
  delete: order.table,
  where: sql`rowid IN (SELECT ${orderedRowid(order)} FROM storefront_search_rows k
    WHERE ${searchedIn(plan, search, 'k.product_id', 'k.region_id')} AND ${hasOrderedRow(order)})`,
});

const searchClear = (plan: Plan, search: Search): StorefrontStatement => ({
  delete: 'storefront_search',
  where: sql`rowid IN (SELECT row FROM storefront_search_rows k WHERE ${searchedIn(plan, search, 'k.product_id', 'k.region_id')})`,
});

/**
 * One full-text row per pair sold in its region (an entry in the region's whole-catalog lanes): the region and
 * the lists of its entries there, each id without its `_` so it is one word (`reg_01H...` would be the words
 * `reg` and `01h...`, and `reg`, in every row, makes a phrase match slow), the words of its cheapest and dearest
 * price there (src/db/price-words.ts, from an entry) and of its variants' option values (src/db/fts.ts), then its
 * text in the region's locales, by locale. Text in other locales is
 * not searchable in the region, as it is not shown there first.
 */
function searchInsert(plan: Plan, search: Search): StorefrontStatement {
  const collectionFilter = unless(plan.withoutCollection, (id) => sql` AND l.collection_id IS NOT ${id}`);
  const variantFilter = variantFilterOf(plan);
  const text = (column: 'title' | 'description') =>
    sql`(SELECT group_concat(t.${sql.raw(column)}, ' ' ORDER BY t.locale) FROM product_translations t
        WHERE t.product_id = k.product_id AND t.locale IN (SELECT value FROM json_each(r.locales)))`;
  // A product's lists (per region) and option words, found once for all its pairs: by pair, each region's
  // lists read every entry of the product in every region again.
  const select = sql`WITH picked(id) AS MATERIALIZED (${plan.products}),
    listed(product_id, region_id, lists) AS MATERIALIZED (
      SELECT product_id, region_id, group_concat(list_id, ' ' ORDER BY list_id) FROM (
        SELECT DISTINCT e.product_id, l.region_id, l.list_id
        FROM picked CROSS JOIN storefront_entries e ON e.product_id = picked.id
        CROSS JOIN storefront_lanes l ON l.lane = e.lane
        WHERE l.list_id <> ''${inRegion(search, 'l.region_id')}${collectionFilter})
      GROUP BY product_id, region_id
    ),
    worded(product_id, words) AS MATERIALIZED (
      SELECT product_id, group_concat(word, ' ' ORDER BY word) FROM (
        SELECT DISTINCT v.product_id, ${sql.raw(optionWordSql('o.key', 'o.value'))} AS word
        FROM picked CROSS JOIN variants v ON v.product_id = picked.id CROSS JOIN json_each(v.options) o
        WHERE true${variantFilter})
      GROUP BY product_id
    )
    SELECT k.row, k.product_id,
      replace(r.id || coalesce(' ' || ls.lists, ''), '_', '') || (
        SELECT ${sql.raw(priceWordsSql('e.min_price', 'e.max_price'))} FROM ${WHOLE_CATALOG_LANES_OF_R}
        CROSS JOIN storefront_entries e ON e.lane = l.lane AND e.product_id = k.product_id LIMIT 1
      ) || coalesce(' ' || w.words, ''),
      ${text('title')},
      ${text('description')}
    FROM storefront_search_rows k JOIN regions r ON r.id = k.region_id
    LEFT JOIN listed ls ON ls.product_id = k.product_id AND ls.region_id = k.region_id
    LEFT JOIN worded w ON w.product_id = k.product_id
    WHERE k.product_id IN (SELECT id FROM picked)${inRegion(search, 'k.region_id')}
      AND EXISTS (SELECT 1 FROM ${WHOLE_CATALOG_LANES_OF_R}
        CROSS JOIN storefront_entries e ON e.lane = l.lane AND e.product_id = k.product_id)`;
  return { insert: 'storefront_search', select };
}

/** An ordered copy of the full-text rows just written: the same words, under the pair's key. */
function orderedInsert(plan: Plan, search: Search, order: SearchOrder): StorefrontStatement {
  const select = sql`SELECT ${orderedRowid(order)}, s.lists, s.title, s.description
    FROM storefront_search_rows k CROSS JOIN storefront_search s ON s.rowid = k.row
    WHERE ${searchedIn(plan, search, 'k.product_id', 'k.region_id')} AND ${hasOrderedRow(order)}`;
  return { insert: order.table, select };
}

/** A pair's number fits a title row's place (src/db/fts.ts) below this. */
const TITLE_PAIRS = 2 ** (PAIR_BITS - LOCALE_BITS);

/**
 * `e`, the whole-catalog entries of each pair `k` the plan rebuilds, one per locale `loc` of its region `r`, then
 * `where`.
 */
const titleEntries = (plan: Plan, search: Search, where: SQL, join = sql``) =>
  sql`storefront_search_rows k JOIN regions r ON r.id = k.region_id CROSS JOIN ${WHOLE_CATALOG_LANES_OF_R}
    CROSS JOIN storefront_entries e ON e.lane = l.lane AND e.product_id = k.product_id${join}
    WHERE ${searchedIn(plan, search, 'k.product_id', 'k.region_id')} AND ${where}`;

/**
 * The title rows of the pairs whose entries the plan kept (a collection's steps rewrite only their words); a
 * rebuilt entry's row went with it (a trigger).
 */
const titleClear = (plan: Plan, search: Search): StorefrontStatement => ({
  delete: 'storefront_search_titles',
  where: sql`rowid IN (SELECT e.title_row FROM ${titleEntries(plan, search, sql`e.title_row IS NOT NULL`)})`,
});

/**
 * Each new whole-catalog entry of the pairs gets its title row's rowid: its label, the pair's number and the
 * locale's position in the region's locales (all of a pair's entries in a region are written together, so the
 * positions differ). A pair numbered from TITLE_PAIRS on gets none.
 */
const titleRowsOf = (plan: Plan, search: Search): StorefrontStatement => ({
  titleRows: {
    value: sql.raw(`(title_label << ${PAIR_BITS}) | (
      SELECT (k.row << ${LOCALE_BITS}) | loc.key
      FROM storefront_lanes l CROSS JOIN regions r ON r.id = l.region_id CROSS JOIN json_each(r.locales) loc
      CROSS JOIN storefront_search_rows k ON k.product_id = storefront_entries.product_id AND k.region_id = r.id
      WHERE l.lane = storefront_entries.lane AND loc.value = l.locale)`),
    where: sql`title_row IS NULL AND (lane, product_id) IN (
      SELECT e.lane, e.product_id FROM ${titleEntries(plan, search, sql`k.row < ${TITLE_PAIRS}`)})`,
  },
});

/** The title-ordered copy of the pairs' full-text rows: a row per whole-catalog entry, with its lane's word. */
function titleInsert(plan: Plan, search: Search): StorefrontStatement {
  const rows = titleEntries(
    plan,
    search,
    sql`e.title_row IS NOT NULL`,
    sql` CROSS JOIN storefront_search s ON s.rowid = k.row`,
  );
  const select = sql`SELECT e.title_row, ${sql.raw(titleLaneWordSql('e.lane'))} || ' ' || s.lists, s.title, s.description
    FROM ${rows}`;
  return { insert: 'storefront_search_titles', select };
}

/**
 * Whether the plan rebuilds the whole-catalog entries of the pairs whose full-text rows it rebuilds: every lane of
 * the products, or of the region (a plan's search is then that region's); not a collection's lanes, nor none.
 */
const rebuildsWholeCatalogLanes = (entries: Plan['entries']): entries is 'products' | { region: string } =>
  entries === 'products' || (typeof entries === 'object' && 'region' in entries);

/** The statements that rebuild `scope`, in order: the full-text rows last, as they are read off the entries. */
export function storefrontStatements(scope: StorefrontScope): StorefrontStatement[] {
  const plan = planOf(scope);
  const { entries, search } = plan;
  return [
    ...plan.clear,
    ...(plan.documents ? [documentsInsert(plan)] : []),
    ...(entries === 'none' ? [] : [lanesInsert(plan, entries), entriesInsert(plan, entries)]),
    ...(rebuildsWholeCatalogLanes(entries) && !plan.fromEmptyLanes ? [crowdsInsert(plan, entries)] : []),
    ...(search === 'none'
      ? []
      : [
          ...SEARCH_ORDERS.map((order) => orderedClear(plan, search, order)),
          searchRowsInsert(plan, search),
          searchClear(plan, search),
          searchInsert(plan, search),
          ...SEARCH_ORDERS.map((order) => orderedInsert(plan, search, order)),
          // Entries the plan rebuilt lost their title rows with them and need new ones; kept entries keep theirs.
          ...(rebuildsWholeCatalogLanes(entries) ? [titleRowsOf(plan, search)] : [titleClear(plan, search)]),
          titleInsert(plan, search),
        ]),
  ];
}

/** Each table's columns in declared order, for statements run outside drizzle. */
const COLUMNS: Record<StorefrontTable, string> = {
  storefront_documents: 'product_id, document',
  storefront_lanes: 'lane, region_id, locale, category_id, collection_id',
  storefront_entries: 'lane, product_id, created_at, min_price, max_price, title, title_label, title_row',
  storefront_search_rows: 'row, product_id, region_id, price_key, date_key',
  storefront_search: 'rowid, product_id, lists, title, description',
  storefront_search_prices: 'rowid, lists, title, description',
  storefront_search_dates: 'rowid, lists, title, description',
  storefront_search_titles: 'rowid, lists, title, description',
  storefront_title_crowds: 'lane, product_id',
};

/** A statement as one SQL text with bound values, for scripts that run it without drizzle's query builder. */
export function statementSql(statement: StorefrontStatement): SQL {
  if ('delete' in statement) return sql`DELETE FROM ${sql.raw(statement.delete)} WHERE ${statement.where}`;
  if ('titleRows' in statement) {
    return sql`UPDATE storefront_entries SET title_row = ${statement.titleRows.value} WHERE ${statement.titleRows.where}`;
  }
  if ('numberPairs' in statement) {
    return sql`INSERT INTO storefront_search_rows (${sql.raw(COLUMNS.storefront_search_rows)}) ${statement.numberPairs}
      ON CONFLICT (product_id, region_id) DO UPDATE SET ${sql.raw(
        SEARCH_ORDERS.map((o) => `${o.keyColumn} = excluded.${o.keyColumn}`).join(', '),
      )}`;
  }
  const conflict = statement.skipExisting ? sql` ON CONFLICT DO NOTHING` : sql``;
  return sql`INSERT INTO ${sql.raw(statement.insert)} (${sql.raw(COLUMNS[statement.insert])}) ${statement.select}${conflict}`;
}
