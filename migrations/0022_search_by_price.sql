-- A price-ordered copy of the storefront's full-text index (src/db/fts.ts), so a search sorted by price walks its
-- matches in price order and stops at the page: the same words as storefront_search, each row under
-- `price_key << 31 | row`, where `row` is the pair's number (below 2^31) and `price_key` the key of its lowest
-- price in the region's currency, kept here so a rewrite can name the row it replaces.
ALTER TABLE `storefront_search_rows` ADD `price_key` integer;
--> statement-breakpoint
CREATE VIRTUAL TABLE `storefront_search_prices` USING fts5(
  `lists`,
  `title`,
  `description`,
  content = '',
  contentless_delete = 1,
  tokenize = 'unicode61 remove_diacritics 2'
);
--> statement-breakpoint
-- A pair's number goes when its product or region does (foreign keys cascade), and both its index rows with it.
DROP TRIGGER `storefront_search_rows_ad`;
--> statement-breakpoint
CREATE TRIGGER `storefront_search_rows_ad` AFTER DELETE ON `storefront_search_rows` BEGIN
  DELETE FROM `storefront_search` WHERE rowid = old.`row`;
  DELETE FROM `storefront_search_prices` WHERE rowid = (old.`price_key` << 31) | old.`row` AND old.`row` < 2147483648;
END;
--> statement-breakpoint
-- Backfill for catalogs that exist before it: each pair sold gets the key of its lowest price in the region (the
-- same in each of the region's whole-catalog lanes), and its full-text row a price-ordered copy.
UPDATE `storefront_search_rows` SET `price_key` = (
  SELECT CASE WHEN MIN(e.min_price) < 2147483648 THEN MIN(e.min_price) ELSE 2147483648 + (MIN(e.min_price) >> 9) END
  FROM regions r CROSS JOIN json_each(r.locales) loc
    CROSS JOIN storefront_lanes l ON l.region_id = r.id AND l.locale = loc.value AND l.list_id = ''
    CROSS JOIN storefront_entries e ON e.lane = l.lane AND e.product_id = `storefront_search_rows`.`product_id`
  WHERE r.id = `storefront_search_rows`.`region_id`);
--> statement-breakpoint
INSERT INTO `storefront_search_prices` (rowid, lists, title, description)
  SELECT (k.price_key << 31) | k.row, s.lists, s.title, s.description
  FROM storefront_search_rows k CROSS JOIN storefront_search s ON s.rowid = k.row
  WHERE k.price_key IS NOT NULL AND k.row < 2147483648;
