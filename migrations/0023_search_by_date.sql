-- A date-ordered copy of the storefront's full-text index (src/db/fts.ts), beside the price-ordered one of 0022, so
-- a search sorted newest first walks its matches in that order and stops at the page: each row under
-- `date_key << 31 | row`, where `date_key` is its product's created_at >> 10 (a key stands for 1,024 ms).
ALTER TABLE `storefront_search_rows` ADD `date_key` integer;
--> statement-breakpoint
CREATE VIRTUAL TABLE `storefront_search_dates` USING fts5(
  `lists`,
  `title`,
  `description`,
  content = '',
  contentless_delete = 1,
  tokenize = 'unicode61 remove_diacritics 2'
);
--> statement-breakpoint
-- A pair's number goes when its product or region does (foreign keys cascade), and its index rows with it.
DROP TRIGGER `storefront_search_rows_ad`;
--> statement-breakpoint
CREATE TRIGGER `storefront_search_rows_ad` AFTER DELETE ON `storefront_search_rows` BEGIN
  DELETE FROM `storefront_search` WHERE rowid = old.`row`;
  DELETE FROM `storefront_search_prices` WHERE rowid = (old.`price_key` << 31) | old.`row` AND old.`row` < 2147483648;
  DELETE FROM `storefront_search_dates` WHERE rowid = (old.`date_key` << 31) | old.`row` AND old.`row` < 2147483648;
END;
--> statement-breakpoint
-- Backfill for catalogs that exist before it: each pair sold gets the key of its product's creation, and its
-- full-text row a date-ordered copy.
UPDATE `storefront_search_rows` SET `date_key` = (
  SELECT max(0, min(MIN(e.created_at) >> 10, 4294967294))
  FROM regions r CROSS JOIN json_each(r.locales) loc
    CROSS JOIN storefront_lanes l ON l.region_id = r.id AND l.locale = loc.value AND l.list_id = ''
    CROSS JOIN storefront_entries e ON e.lane = l.lane AND e.product_id = `storefront_search_rows`.`product_id`
  WHERE r.id = `storefront_search_rows`.`region_id`);
--> statement-breakpoint
INSERT INTO `storefront_search_dates` (rowid, lists, title, description)
  SELECT (k.date_key << 31) | k.row, s.lists, s.title, s.description
  FROM storefront_search_rows k CROSS JOIN storefront_search s ON s.rowid = k.row
  WHERE k.date_key IS NOT NULL AND k.row < 2147483648;
