-- The words of each pair's cheapest and dearest price in its region (src/db/price-words.ts, priceWordsSql) in its
-- full-text rows' `lists`, after the region and lists and before the option words (which start ` o`), so a
-- listing with a price bound asks the index for the products within it. Rows written before get them here (the
-- price of the pair's whole-catalog entry); the contentless copies are emptied and written again from the rows.
-- Running it again gives the same rows (the words from ` ph` to the option words are replaced: no region or list
-- id starts with `p` or `o`), so rows an older Worker wrote between the migration and the deploy are healed by
-- running this file once more after it (README, "Deploy").
UPDATE `storefront_search` SET `lists` = CASE
    WHEN instr(`lists`, ' ph') > 0 THEN substr(`lists`, 1, instr(`lists`, ' ph') - 1)
    WHEN instr(`lists`, ' o') > 0 THEN substr(`lists`, 1, instr(`lists`, ' o') - 1)
    ELSE `lists` END || coalesce((
  SELECT concat_ws(' ', '', 'phm' || ((e.max_price >> 0 > 0) + (e.max_price >> 2 > 0) + (e.max_price >> 4 > 0) + (e.max_price >> 6 > 0) + (e.max_price >> 8 > 0) + (e.max_price >> 10 > 0) + (e.max_price >> 12 > 0) + (e.max_price >> 14 > 0) + (e.max_price >> 16 > 0) + (e.max_price >> 18 > 0) + (e.max_price >> 20 > 0) + (e.max_price >> 22 > 0) + (e.max_price >> 24 > 0) + (e.max_price >> 26 > 0) + (e.max_price >> 28 > 0) + (e.max_price >> 30 > 0) + (e.max_price >> 32 > 0) + (e.max_price >> 34 > 0) + (e.max_price >> 36 > 0) + (e.max_price >> 38 > 0)), CASE WHEN e.max_price >> 0 > 0 THEN 'ph0x' || printf('%x', e.max_price >> 0) END, CASE WHEN e.max_price >> 2 > 0 THEN 'ph1x' || printf('%x', e.max_price >> 2) END, CASE WHEN e.max_price >> 4 > 0 THEN 'ph2x' || printf('%x', e.max_price >> 4) END, CASE WHEN e.max_price >> 6 > 0 THEN 'ph3x' || printf('%x', e.max_price >> 6) END, CASE WHEN e.max_price >> 8 > 0 THEN 'ph4x' || printf('%x', e.max_price >> 8) END, CASE WHEN e.max_price >> 10 > 0 THEN 'ph5x' || printf('%x', e.max_price >> 10) END, CASE WHEN e.max_price >> 12 > 0 THEN 'ph6x' || printf('%x', e.max_price >> 12) END, CASE WHEN e.max_price >> 14 > 0 THEN 'ph7x' || printf('%x', e.max_price >> 14) END, CASE WHEN e.max_price >> 16 > 0 THEN 'ph8x' || printf('%x', e.max_price >> 16) END, CASE WHEN e.max_price >> 18 > 0 THEN 'ph9x' || printf('%x', e.max_price >> 18) END, CASE WHEN e.max_price >> 20 > 0 THEN 'ph10x' || printf('%x', e.max_price >> 20) END, CASE WHEN e.max_price >> 22 > 0 THEN 'ph11x' || printf('%x', e.max_price >> 22) END, CASE WHEN e.max_price >> 24 > 0 THEN 'ph12x' || printf('%x', e.max_price >> 24) END, CASE WHEN e.max_price >> 26 > 0 THEN 'ph13x' || printf('%x', e.max_price >> 26) END, CASE WHEN e.max_price >> 28 > 0 THEN 'ph14x' || printf('%x', e.max_price >> 28) END, CASE WHEN e.max_price >> 30 > 0 THEN 'ph15x' || printf('%x', e.max_price >> 30) END, CASE WHEN e.max_price >> 32 > 0 THEN 'ph16x' || printf('%x', e.max_price >> 32) END, CASE WHEN e.max_price >> 34 > 0 THEN 'ph17x' || printf('%x', e.max_price >> 34) END, CASE WHEN e.max_price >> 36 > 0 THEN 'ph18x' || printf('%x', e.max_price >> 36) END, CASE WHEN e.max_price >> 38 > 0 THEN 'ph19x' || printf('%x', e.max_price >> 38) END, 'plm' || ((e.min_price >> 0 > 0) + (e.min_price >> 2 > 0) + (e.min_price >> 4 > 0) + (e.min_price >> 6 > 0) + (e.min_price >> 8 > 0) + (e.min_price >> 10 > 0) + (e.min_price >> 12 > 0) + (e.min_price >> 14 > 0) + (e.min_price >> 16 > 0) + (e.min_price >> 18 > 0) + (e.min_price >> 20 > 0) + (e.min_price >> 22 > 0) + (e.min_price >> 24 > 0) + (e.min_price >> 26 > 0) + (e.min_price >> 28 > 0) + (e.min_price >> 30 > 0) + (e.min_price >> 32 > 0) + (e.min_price >> 34 > 0) + (e.min_price >> 36 > 0) + (e.min_price >> 38 > 0)), CASE WHEN e.min_price >> 0 > 0 THEN 'pl0x' || printf('%x', e.min_price >> 0) END, CASE WHEN e.min_price >> 2 > 0 THEN 'pl1x' || printf('%x', e.min_price >> 2) END, CASE WHEN e.min_price >> 4 > 0 THEN 'pl2x' || printf('%x', e.min_price >> 4) END, CASE WHEN e.min_price >> 6 > 0 THEN 'pl3x' || printf('%x', e.min_price >> 6) END, CASE WHEN e.min_price >> 8 > 0 THEN 'pl4x' || printf('%x', e.min_price >> 8) END, CASE WHEN e.min_price >> 10 > 0 THEN 'pl5x' || printf('%x', e.min_price >> 10) END, CASE WHEN e.min_price >> 12 > 0 THEN 'pl6x' || printf('%x', e.min_price >> 12) END, CASE WHEN e.min_price >> 14 > 0 THEN 'pl7x' || printf('%x', e.min_price >> 14) END, CASE WHEN e.min_price >> 16 > 0 THEN 'pl8x' || printf('%x', e.min_price >> 16) END, CASE WHEN e.min_price >> 18 > 0 THEN 'pl9x' || printf('%x', e.min_price >> 18) END, CASE WHEN e.min_price >> 20 > 0 THEN 'pl10x' || printf('%x', e.min_price >> 20) END, CASE WHEN e.min_price >> 22 > 0 THEN 'pl11x' || printf('%x', e.min_price >> 22) END, CASE WHEN e.min_price >> 24 > 0 THEN 'pl12x' || printf('%x', e.min_price >> 24) END, CASE WHEN e.min_price >> 26 > 0 THEN 'pl13x' || printf('%x', e.min_price >> 26) END, CASE WHEN e.min_price >> 28 > 0 THEN 'pl14x' || printf('%x', e.min_price >> 28) END, CASE WHEN e.min_price >> 30 > 0 THEN 'pl15x' || printf('%x', e.min_price >> 30) END, CASE WHEN e.min_price >> 32 > 0 THEN 'pl16x' || printf('%x', e.min_price >> 32) END, CASE WHEN e.min_price >> 34 > 0 THEN 'pl17x' || printf('%x', e.min_price >> 34) END, CASE WHEN e.min_price >> 36 > 0 THEN 'pl18x' || printf('%x', e.min_price >> 36) END, CASE WHEN e.min_price >> 38 > 0 THEN 'pl19x' || printf('%x', e.min_price >> 38) END)
  FROM storefront_search_rows k JOIN regions r ON r.id = k.region_id CROSS JOIN json_each(r.locales) loc
    CROSS JOIN storefront_lanes l ON l.region_id = r.id AND l.locale = loc.value AND l.list_id = ''
    CROSS JOIN storefront_entries e ON e.lane = l.lane AND e.product_id = k.product_id
  WHERE k.row = `storefront_search`.rowid LIMIT 1), '') || CASE WHEN instr(`lists`, ' o') > 0
    THEN substr(`lists`, instr(`lists`, ' o')) ELSE '' END;
--> statement-breakpoint
INSERT INTO `storefront_search_prices` (`storefront_search_prices`) VALUES ('delete-all');
--> statement-breakpoint
INSERT INTO `storefront_search_dates` (`storefront_search_dates`) VALUES ('delete-all');
--> statement-breakpoint
INSERT INTO `storefront_search_titles` (`storefront_search_titles`) VALUES ('delete-all');
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
--> statement-breakpoint
INSERT INTO `storefront_search_titles` (rowid, lists, title, description)
  SELECT e.title_row, 'ln' || e.lane || ' ' || s.lists, s.title, s.description
  FROM storefront_lanes l CROSS JOIN storefront_entries e ON e.lane = l.lane
  CROSS JOIN storefront_search s ON s.rowid = (e.title_row & 2147483647) >> 5
  WHERE l.list_id = '' AND e.title_row IS NOT NULL;
