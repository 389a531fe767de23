-- The words of each product's option values in its full-text rows' `lists` (src/db/fts.ts, optionWordSql: `o`
-- and the hex of name, char 31 and value), after its region and lists, so a listing filtered by option values
-- finds the products that have them inside the index. Rows written before get them here; the ordered copies,
-- contentless, are emptied and written again from the rows. Running it again gives the same rows (the words a
-- row has are dropped first: no region or list id starts with `o`), so rows an older Worker wrote between the
-- migration and the deploy are healed by running this file once more after it (README, "Deploy").
UPDATE `storefront_search` SET `lists` = CASE WHEN instr(`lists`, ' o') > 0
    THEN substr(`lists`, 1, instr(`lists`, ' o') - 1) ELSE `lists` END || coalesce(' ' || (
  SELECT group_concat(word, ' ' ORDER BY word) FROM (
    SELECT DISTINCT ('o' || hex(o.key || char(31) || o.value)) AS word
    FROM variants v CROSS JOIN json_each(v.options) o WHERE v.product_id = `storefront_search`.`product_id`)), '');
--> statement-breakpoint
INSERT INTO `storefront_search_prices` (`storefront_search_prices`) VALUES ('delete-all');
--> statement-breakpoint
INSERT INTO `storefront_search_dates` (`storefront_search_dates`) VALUES ('delete-all');
--> statement-breakpoint
INSERT INTO `storefront_search_prices` (rowid, lists, title, description)
  SELECT (k.price_key << 31) | k.row, s.lists, s.title, s.description
  FROM storefront_search_rows k CROSS JOIN storefront_search s ON s.rowid = k.row
  WHERE k.price_key IS NOT NULL AND k.row < 2147483648;
--> statement-breakpoint
INSERT INTO `storefront_search_dates` (rowid, lists, title, description)
  SELECT (k.date_key << 31) | k.row, s.lists, s.title, s.description
  FROM storefront_search_rows k CROSS JOIN storefront_search s ON s.rowid = k.row
  WHERE k.date_key IS NOT NULL AND k.row < 2147483648;
