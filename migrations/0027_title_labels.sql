-- Backfill of 0026's title labels and title-ordered copy: each whole-catalog lane's entries get labels spread
-- evenly over 2^30 .. 2^32 - 2 - 2^30 in (title, product id) order (room left at both ends for entries added
-- there later), as a lane's first write spreads them
-- (src/modules/storefront/statements.ts, entriesInsert), then their rowids, then the copy is written from the
-- full-text rows. Running it again gives every lane fresh labels and the copy again, so entries an older Worker
-- wrote between the migrations and the deploy (without labels) are healed by running this file once more after
-- it (README, "Deploy"), and so are lanes whose labels writes one at a time into one gap have crowded.
UPDATE `storefront_entries` SET `title_label` = x.label, `title_row` = NULL FROM (
  SELECT e.lane, e.product_id, 1073741824 + 2147483646
    * row_number() OVER (PARTITION BY e.lane ORDER BY e.title, e.product_id)
    / (count(*) OVER (PARTITION BY e.lane) + 1) AS label
  FROM storefront_lanes l CROSS JOIN storefront_entries e ON e.lane = l.lane
  WHERE l.list_id = ''
) x WHERE `storefront_entries`.lane = x.lane AND `storefront_entries`.product_id = x.product_id;
--> statement-breakpoint
UPDATE `storefront_entries` SET `title_row` = (
  SELECT CASE WHEN k.row < 67108864 THEN (`storefront_entries`.title_label << 31) | (k.row << 5) | loc.key END
  FROM storefront_lanes l CROSS JOIN regions r ON r.id = l.region_id CROSS JOIN json_each(r.locales) loc
  CROSS JOIN storefront_search_rows k ON k.product_id = `storefront_entries`.product_id AND k.region_id = r.id
  WHERE l.lane = `storefront_entries`.lane AND loc.value = l.locale)
WHERE `title_label` IS NOT NULL;
--> statement-breakpoint
INSERT INTO `storefront_search_titles` (`storefront_search_titles`) VALUES ('delete-all');
--> statement-breakpoint
INSERT INTO `storefront_search_titles` (rowid, lists, title, description)
  SELECT e.title_row, 'ln' || e.lane || ' ' || s.lists, s.title, s.description
  FROM storefront_lanes l CROSS JOIN storefront_entries e ON e.lane = l.lane
  CROSS JOIN storefront_search s ON s.rowid = (e.title_row & 2147483647) >> 5
  WHERE l.list_id = '' AND e.title_row IS NOT NULL;
