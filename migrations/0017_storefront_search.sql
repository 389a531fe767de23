-- The storefront's full-text index (src/db/fts.ts): one row per (product, region where it is sold), its rowid the
-- pair's number in storefront_search_rows. It replaces product_search (one row per translation), which a search
-- had to read match by match to check the locale and rank it. The index's rows are written by the read model's
-- statements (src/modules/storefront/statements.ts) in every catalog write's batch.
CREATE VIRTUAL TABLE `storefront_search` USING fts5(
  `product_id` UNINDEXED,
  `lists`,
  `title`,
  `description`,
  tokenize = 'unicode61 remove_diacritics 2'
);
--> statement-breakpoint
-- A pair's number goes when its product or region does (foreign keys cascade), and its index row with it.
CREATE TRIGGER `storefront_search_rows_ad` AFTER DELETE ON `storefront_search_rows` BEGIN
  DELETE FROM `storefront_search` WHERE rowid = old.`row`;
END;
--> statement-breakpoint
DROP TRIGGER `product_translations_ai`;
--> statement-breakpoint
DROP TRIGGER `product_translations_ad`;
--> statement-breakpoint
DROP TRIGGER `product_translations_au`;
--> statement-breakpoint
DROP TABLE `product_search`;
--> statement-breakpoint
-- Backfill for catalogs that exist before it: the search part of storefrontStatements({ everything: true })
-- rendered to SQL.
INSERT INTO storefront_search_rows (row, product_id, region_id) SELECT NULL, e.product_id, l.region_id
    FROM storefront_entries e JOIN storefront_lanes l ON l.lane = e.lane
    WHERE l.list_id = '' AND e.product_id IN (SELECT id FROM products)
    GROUP BY e.product_id, l.region_id ORDER BY MIN(e.created_at), e.product_id ON CONFLICT DO NOTHING;
--> statement-breakpoint
DELETE FROM storefront_search WHERE rowid IN (SELECT row FROM storefront_search_rows k WHERE k.product_id IN (SELECT id FROM products));
--> statement-breakpoint
INSERT INTO storefront_search (rowid, product_id, lists, title, description) SELECT k.row, k.product_id,
      replace(r.id || coalesce(' ' || (SELECT group_concat(list_id, ' ' ORDER BY list_id) FROM (
        SELECT DISTINCT l.list_id FROM storefront_entries e JOIN storefront_lanes l ON l.lane = e.lane
        WHERE e.product_id = k.product_id AND l.region_id = r.id AND l.list_id <> '')), ''), '_', ''),
      (SELECT group_concat(t.title, ' ' ORDER BY t.locale) FROM product_translations t
        WHERE t.product_id = k.product_id AND t.locale IN (SELECT value FROM json_each(r.locales))),
      (SELECT group_concat(t.description, ' ' ORDER BY t.locale) FROM product_translations t
        WHERE t.product_id = k.product_id AND t.locale IN (SELECT value FROM json_each(r.locales)))
    FROM storefront_search_rows k JOIN regions r ON r.id = k.region_id
    WHERE k.product_id IN (SELECT id FROM products)
      AND EXISTS (SELECT 1 FROM storefront_entries e JOIN storefront_lanes l ON l.lane = e.lane
        WHERE e.product_id = k.product_id AND l.region_id = r.id AND l.list_id = '');
