/**
 * The SQL that keeps the storefront read model (src/db/schema/storefront.ts) equal to what the catalog tables
 * say. Every catalog write appends these statements to its batch (through refreshStorefront in projection.ts),
 * so the model changes in the same atomic D1 batch as its source: no reader sees one without the other, and a
 * rejected or failed write changes neither. Each refresh deletes the rows of its scope and rebuilds them with
 * INSERT ... SELECT from the source tables as the batch has left them, so the result never depends on what the
 * rows held before, on which of two concurrent writes ran first, or on the service computing anything itself.
 *
 * Deletes of products, regions and collections need no statement: foreign keys cascade. Two deletes do, and
 * their refresh runs BEFORE the delete (which must stay the change's last, conditional statement), computing
 * the rows as they will be without the deleted row: a variant (its product's prices and document) and a leaf
 * category (its products' ancestor lanes).
 *
 * This file imports nothing but drizzle-orm, so scripts (the demo seed) run the very same SQL in Node.
 */
import { type SQL, sql } from 'drizzle-orm';

/** `storefront_documents.document`: a product's own content, as documentsInsert below builds it. */
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
};

/** What a write changed, and so which rows of the model to rebuild. */
export type StorefrontScope =
  /** Products written (created, updated, archived, their variants or prices), minus a variant being deleted. */
  | { products: string[]; withoutVariant?: string }
  /** A category moved: its products and those of its subcategories have new ancestors. */
  | { categoryTree: string }
  /** A leaf category about to be deleted: its products' lanes as if it were gone. */
  | { leavingCategory: string }
  /** A collection's product list was set: that collection's lanes. */
  | { collection: string }
  /** A region was created or its currency or locales changed: that region's lanes, for every product. */
  | { region: string }
  /** Everything, from scratch: the migration backfill and the demo seed. */
  | { everything: true };

export type StorefrontTable = 'storefront_documents' | 'storefront_lanes' | 'storefront_entries';

/**
 * One statement of a refresh. An insert's SELECT yields the table's columns in their declared order
 * (src/db/schema/storefront.ts), which is the order drizzle and statementSql below both name them in.
 */
export type StorefrontStatement =
  | { delete: StorefrontTable; where: SQL }
  | { insert: StorefrontTable; select: SQL; skipExisting?: boolean };

/** What the statements are built from. */
type Plan = {
  /** A SELECT of the product ids whose rows are rebuilt. */
  products: SQL;
  /** The deletes that clear the rows about to be rebuilt. */
  clear: StorefrontStatement[];
  documents: boolean;
  region?: string;
  collection?: string;
  withoutVariant?: string;
  withoutCategory?: string;
};

const ids = (list: string[]) => sql`SELECT value FROM json_each(${JSON.stringify(list)})`;

function planOf(scope: StorefrontScope): Plan {
  if ('products' in scope) {
    const products = ids(scope.products);
    return {
      products,
      clear: [
        { delete: 'storefront_documents', where: sql`product_id IN (${products})` },
        { delete: 'storefront_entries', where: sql`product_id IN (${products})` },
      ],
      documents: true,
      ...(scope.withoutVariant === undefined ? {} : { withoutVariant: scope.withoutVariant }),
    };
  }
  if ('categoryTree' in scope) {
    const products = sql`SELECT DISTINCT pc.product_id FROM product_categories pc WHERE pc.category_id IN (
      WITH RECURSIVE subtree(id) AS (
        SELECT ${scope.categoryTree} UNION SELECT c.id FROM categories c JOIN subtree ON c.parent_id = subtree.id
      ) SELECT id FROM subtree)`;
    return {
      products,
      clear: [{ delete: 'storefront_entries', where: sql`product_id IN (${products})` }],
      documents: false,
    };
  }
  if ('leavingCategory' in scope) {
    const products = sql`SELECT product_id FROM product_categories WHERE category_id = ${scope.leavingCategory}`;
    return {
      products,
      clear: [{ delete: 'storefront_entries', where: sql`product_id IN (${products})` }],
      documents: false,
      withoutCategory: scope.leavingCategory,
    };
  }
  if ('collection' in scope) {
    return {
      products: sql`SELECT product_id FROM product_collections WHERE collection_id = ${scope.collection}`,
      clear: [
        {
          delete: 'storefront_entries',
          where: sql`lane IN (SELECT lane FROM storefront_lanes WHERE collection_id = ${scope.collection})`,
        },
      ],
      documents: false,
      collection: scope.collection,
    };
  }
  if ('region' in scope) {
    return {
      products: sql`SELECT id FROM products`,
      // Dropping the region's lanes also drops those of locales it no longer offers (entries cascade).
      clear: [{ delete: 'storefront_lanes', where: sql`region_id = ${scope.region}` }],
      documents: false,
      region: scope.region,
    };
  }
  return {
    products: sql`SELECT id FROM products`,
    clear: [
      { delete: 'storefront_documents', where: sql`true` },
      { delete: 'storefront_lanes', where: sql`true` },
    ],
    documents: true,
  };
}

/**
 * The document of each active product in the plan: the product's own content, the same in every region. Lists
 * are in the order responses show them.
 */
function documentsInsert(plan: Plan): StorefrontStatement {
  const variantFilter = plan.withoutVariant === undefined ? sql`` : sql` AND v.id <> ${plan.withoutVariant}`;
  const select = sql`SELECT p.id, json_object(
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
        FROM variants v WHERE v.product_id = p.id${variantFilter}))
    FROM products p WHERE p.id IN (${plan.products}) AND p.status = 'active'`;
  return { insert: 'storefront_documents', select };
}

/**
 * The rows each product of the plan has in each lane: `sold` (per region: active with a variant priced in its
 * currency, and the price range), `titled` (per region locale: the title along that locale's chain, the
 * locale first, then the region's others in order, else the first locale alphabetically, as responses pick it),
 * `tree` (each category link plus every ancestor), `lists` (the whole catalog, those categories, collections).
 */
function placed(plan: Plan): SQL {
  const regionFilter = plan.region === undefined ? sql`` : sql` AND r.id = ${plan.region}`;
  const variantFilter = plan.withoutVariant === undefined ? sql`` : sql` AND v.id <> ${plan.withoutVariant}`;
  const categoryFilter =
    plan.withoutCategory === undefined ? sql`` : sql` AND pc.category_id <> ${plan.withoutCategory}`;
  const lists =
    plan.collection === undefined
      ? sql`SELECT id, NULL, NULL FROM picked
          UNION ALL SELECT product_id, category_id, NULL FROM tree
          UNION ALL SELECT pcol.product_id, NULL, pcol.collection_id FROM product_collections pcol
            WHERE pcol.product_id IN (SELECT id FROM picked)`
      : sql`SELECT product_id, NULL, collection_id FROM product_collections WHERE collection_id = ${plan.collection}`;
  return sql`WITH RECURSIVE
    picked(id) AS MATERIALIZED (${plan.products}),
    sold AS MATERIALIZED (
      SELECT r.id AS region_id, r.locales, p.id AS product_id, p.created_at,
        MIN(pr.amount) AS min_price, MAX(pr.amount) AS max_price
      FROM picked
      CROSS JOIN products p ON p.id = picked.id
      CROSS JOIN variants v ON v.product_id = p.id
      CROSS JOIN regions r
      CROSS JOIN prices pr ON pr.variant_id = v.id AND pr.currency_code = r.currency_code
      WHERE p.status = 'active'${regionFilter}${variantFilter}
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
    tree(product_id, category_id) AS (
      SELECT pc.product_id, pc.category_id FROM product_categories pc
        WHERE pc.product_id IN (SELECT id FROM picked)${categoryFilter}
      UNION
      SELECT tree.product_id, c.parent_id FROM tree JOIN categories c ON c.id = tree.category_id
        WHERE c.parent_id IS NOT NULL
    ),
    lists(product_id, category_id, collection_id) AS (${lists}),
    placed AS (
      SELECT ti.region_id, ti.locale, l.category_id, l.collection_id,
        coalesce(l.category_id, l.collection_id, '') AS list_id,
        ti.product_id, ti.created_at, ti.min_price, ti.max_price, ti.title
      FROM titled ti JOIN lists l ON l.product_id = ti.product_id
      WHERE ti.title IS NOT NULL
    )`;
}

/** The lanes the plan's rows need that do not exist yet; `lane` is left to SQLite (NULL: the next rowid). */
function lanesInsert(plan: Plan): StorefrontStatement {
  // WHERE true: an INSERT ... SELECT with an ON CONFLICT clause needs a WHERE to parse unambiguously.
  const select = sql`${placed(plan)}
    SELECT DISTINCT NULL, region_id, locale, category_id, collection_id FROM placed WHERE true`;
  return { insert: 'storefront_lanes', select, skipExisting: true };
}

function entriesInsert(plan: Plan): StorefrontStatement {
  const select = sql`${placed(plan)}
    SELECT ln.lane, pl.product_id, pl.created_at, pl.min_price, pl.max_price, pl.title
    FROM placed pl JOIN storefront_lanes ln
      ON ln.region_id = pl.region_id AND ln.locale = pl.locale AND ln.list_id = pl.list_id`;
  return { insert: 'storefront_entries', select };
}

/** The statements that rebuild `scope`, in order. */
export function storefrontStatements(scope: StorefrontScope): StorefrontStatement[] {
  const plan = planOf(scope);
  return [
    ...plan.clear,
    ...(plan.documents ? [documentsInsert(plan)] : []),
    lanesInsert(plan),
    entriesInsert(plan),
  ];
}

/** Each table's columns in declared order, for statements run outside drizzle. */
const COLUMNS: Record<StorefrontTable, string> = {
  storefront_documents: 'product_id, document',
  storefront_lanes: 'lane, region_id, locale, category_id, collection_id',
  storefront_entries: 'lane, product_id, created_at, min_price, max_price, title',
};

/** A statement as one SQL text with bound values, for scripts that run it without drizzle's query builder. */
export function statementSql(statement: StorefrontStatement): SQL {
  if ('delete' in statement) return sql`DELETE FROM ${sql.raw(statement.delete)} WHERE ${statement.where}`;
  const conflict = statement.skipExisting ? sql` ON CONFLICT DO NOTHING` : sql``;
  return sql`INSERT INTO ${sql.raw(statement.insert)} (${sql.raw(COLUMNS[statement.insert])}) ${statement.select}${conflict}`;
}
