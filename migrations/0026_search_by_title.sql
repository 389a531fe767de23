ALTER TABLE `storefront_entries` ADD `title_label` integer;--> statement-breakpoint
ALTER TABLE `storefront_entries` ADD `title_row` integer;--> statement-breakpoint
-- A title-ordered copy of the storefront's full-text index (src/db/fts.ts), beside the price- and date-ordered ones
-- of 0022 and 0023, so a listing by title that uses the index walks its matches in title order and stops at the
-- page: a row per whole-catalog entry (product, region, locale), under `title_label << 31 | row << 5 | the
-- locale's position in the region's locales`, the entry's `title_row`.
CREATE VIRTUAL TABLE `storefront_search_titles` USING fts5(
  `lists`,
  `title`,
  `description`,
  content = '',
  contentless_delete = 1,
  tokenize = 'unicode61 remove_diacritics 2'
);
--> statement-breakpoint
-- An entry's title row goes with it: a product rewritten, a lane cleared, a product or region deleted (cascades).
CREATE TRIGGER `storefront_entries_title_ad` AFTER DELETE ON `storefront_entries`
WHEN old.`title_row` IS NOT NULL BEGIN
  DELETE FROM `storefront_search_titles` WHERE rowid = old.`title_row`;
END;
