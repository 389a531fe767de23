-- Backfill of the storefront read model for catalogs that exist before it: every document, lane and entry rebuilt
-- from the catalog tables. This is storefrontStatements({ everything: true }) of src/modules/storefront/statements.ts
-- rendered to SQL; the same statements keep the model in step with every later catalog write.
DELETE FROM storefront_documents WHERE true;
--> statement-breakpoint
DELETE FROM storefront_lanes WHERE true;
--> statement-breakpoint
INSERT INTO storefront_documents (product_id, document) SELECT p.id, json_object(
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
    FROM variants v WHERE v.product_id = p.id),
  'categories', (SELECT json_group_array(json_object(
      'id', c.id, 'handle', c.handle,
      'names', (SELECT json_group_object(ct.locale, ct.name) FROM category_translations ct WHERE ct.category_id = c.id)
    ) ORDER BY c.handle)
    FROM product_categories l JOIN categories c ON c.id = l.category_id WHERE l.product_id = p.id),
  'collections', (SELECT json_group_array(json_object(
      'id', c.id, 'handle', c.handle,
      'names', (SELECT json_group_object(ct.locale, ct.title) FROM collection_translations ct WHERE ct.collection_id = c.id)
    ) ORDER BY c.handle)
    FROM product_collections l JOIN collections c ON c.id = l.collection_id WHERE l.product_id = p.id))
FROM products p WHERE p.id IN (SELECT id FROM products) AND p.status = 'active';
--> statement-breakpoint
INSERT INTO storefront_lanes (lane, region_id, locale, category_id, collection_id) WITH RECURSIVE
picked(id) AS MATERIALIZED (SELECT id FROM products),
sold AS MATERIALIZED (
  SELECT r.id AS region_id, r.locales, p.id AS product_id, p.created_at,
    MIN(pr.amount) AS min_price, MAX(pr.amount) AS max_price
  FROM picked
  CROSS JOIN products p ON p.id = picked.id
  CROSS JOIN variants v ON v.product_id = p.id
  CROSS JOIN regions r
  CROSS JOIN prices pr ON pr.variant_id = v.id AND pr.currency_code = r.currency_code
  WHERE p.status = 'active'
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
    WHERE pc.product_id IN (SELECT id FROM picked)
  UNION
  SELECT tree.product_id, c.parent_id FROM tree JOIN categories c ON c.id = tree.category_id
    WHERE c.parent_id IS NOT NULL
),
lists(product_id, category_id, collection_id) AS (SELECT id, NULL, NULL FROM picked
      UNION ALL SELECT product_id, category_id, NULL FROM tree
      UNION ALL SELECT pcol.product_id, NULL, pcol.collection_id FROM product_collections pcol
        WHERE pcol.product_id IN (SELECT id FROM picked)),
placed AS (
  SELECT ti.region_id, ti.locale, l.category_id, l.collection_id,
    coalesce(l.category_id, l.collection_id, '') AS list_id,
    ti.product_id, ti.created_at, ti.min_price, ti.max_price, ti.title
  FROM titled ti JOIN lists l ON l.product_id = ti.product_id
  WHERE ti.title IS NOT NULL
)
SELECT DISTINCT NULL, region_id, locale, category_id, collection_id FROM placed WHERE true ON CONFLICT DO NOTHING;
--> statement-breakpoint
INSERT INTO storefront_entries (lane, product_id, created_at, min_price, max_price, title) WITH RECURSIVE
picked(id) AS MATERIALIZED (SELECT id FROM products),
sold AS MATERIALIZED (
  SELECT r.id AS region_id, r.locales, p.id AS product_id, p.created_at,
    MIN(pr.amount) AS min_price, MAX(pr.amount) AS max_price
  FROM picked
  CROSS JOIN products p ON p.id = picked.id
  CROSS JOIN variants v ON v.product_id = p.id
  CROSS JOIN regions r
  CROSS JOIN prices pr ON pr.variant_id = v.id AND pr.currency_code = r.currency_code
  WHERE p.status = 'active'
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
    WHERE pc.product_id IN (SELECT id FROM picked)
  UNION
  SELECT tree.product_id, c.parent_id FROM tree JOIN categories c ON c.id = tree.category_id
    WHERE c.parent_id IS NOT NULL
),
lists(product_id, category_id, collection_id) AS (SELECT id, NULL, NULL FROM picked
      UNION ALL SELECT product_id, category_id, NULL FROM tree
      UNION ALL SELECT pcol.product_id, NULL, pcol.collection_id FROM product_collections pcol
        WHERE pcol.product_id IN (SELECT id FROM picked)),
placed AS (
  SELECT ti.region_id, ti.locale, l.category_id, l.collection_id,
    coalesce(l.category_id, l.collection_id, '') AS list_id,
    ti.product_id, ti.created_at, ti.min_price, ti.max_price, ti.title
  FROM titled ti JOIN lists l ON l.product_id = ti.product_id
  WHERE ti.title IS NOT NULL
)
SELECT ln.lane, pl.product_id, pl.created_at, pl.min_price, pl.max_price, pl.title
FROM placed pl JOIN storefront_lanes ln
  ON ln.region_id = pl.region_id AND ln.locale = pl.locale AND ln.list_id = pl.list_id;
