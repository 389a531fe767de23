-- Deleting a region, a leaf category or a collection deletes its storefront rows in steps
-- (src/modules/storefront/rebuild.ts): a region's are some 900,000 entries, pairs and full-text rows at 100,000
-- demo products, past what one D1 batch may delete in 30 s, and a category's or collection's lanes grow with it.
-- So a lane names its region, category or collection, and a numbered pair its region, with no foreign key
-- (nothing reads them once the owner is gone, and ids are never reused), and a deleted region's mark may
-- outlive it (`deleted_list` 'region').
--
-- D1 cannot turn foreign keys off, so a table rebuild must not drop a table that others reference: DROP TABLE
-- deletes its rows first, and that cascades. storefront_entries references storefront_lanes, so both are rebuilt:
-- each old table is renamed (renaming the lanes makes the old entries reference the old lanes), the new ones are
-- created and filled, then the old entries and the old lanes are dropped, in that order, with nothing left to
-- cascade to. DROP TABLE fires no triggers, so the full-text rows of the entries and pairs stay, under the same
-- keys the copied rows carry (title_row; a pair's row, price_key and date_key).
-- (The triggers on regions, categories and collections are made at the end, as they name these tables; dropped
-- first so that the migration runs again on the tables it made, as a test does.)
DROP TRIGGER IF EXISTS `regions_storefront_ad`;--> statement-breakpoint
DROP TRIGGER IF EXISTS `categories_storefront_ad`;--> statement-breakpoint
DROP TRIGGER IF EXISTS `collections_storefront_ad`;--> statement-breakpoint
ALTER TABLE `storefront_entries` RENAME TO `__old_storefront_entries`;--> statement-breakpoint
ALTER TABLE `storefront_lanes` RENAME TO `__old_storefront_lanes`;--> statement-breakpoint
CREATE TABLE `storefront_lanes` (
	`lane` integer PRIMARY KEY NOT NULL,
	`region_id` text NOT NULL,
	`locale` text NOT NULL,
	`category_id` text,
	`collection_id` text,
	`list_id` text GENERATED ALWAYS AS (coalesce(category_id, collection_id, '')) VIRTUAL NOT NULL
);
--> statement-breakpoint
INSERT INTO `storefront_lanes` (`lane`, `region_id`, `locale`, `category_id`, `collection_id`)
  SELECT `lane`, `region_id`, `locale`, `category_id`, `collection_id` FROM `__old_storefront_lanes`;--> statement-breakpoint
CREATE TABLE `storefront_entries` (
	`lane` integer NOT NULL,
	`product_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`min_price` integer NOT NULL,
	`max_price` integer NOT NULL,
	`title` text NOT NULL,
	`title_label` integer,
	`title_row` integer,
	`spread_level` integer GENERATED ALWAYS AS (CASE WHEN max_price - min_price < 1 THEN 0 WHEN max_price - min_price < 2 THEN 1 WHEN max_price - min_price < 4 THEN 2 WHEN max_price - min_price < 8 THEN 3 WHEN max_price - min_price < 16 THEN 4 WHEN max_price - min_price < 32 THEN 5 WHEN max_price - min_price < 64 THEN 6 WHEN max_price - min_price < 128 THEN 7 WHEN max_price - min_price < 256 THEN 8 WHEN max_price - min_price < 512 THEN 9 WHEN max_price - min_price < 1024 THEN 10 WHEN max_price - min_price < 2048 THEN 11 WHEN max_price - min_price < 4096 THEN 12 WHEN max_price - min_price < 8192 THEN 13 WHEN max_price - min_price < 16384 THEN 14 WHEN max_price - min_price < 32768 THEN 15 WHEN max_price - min_price < 65536 THEN 16 WHEN max_price - min_price < 131072 THEN 17 WHEN max_price - min_price < 262144 THEN 18 WHEN max_price - min_price < 524288 THEN 19 WHEN max_price - min_price < 1048576 THEN 20 WHEN max_price - min_price < 2097152 THEN 21 WHEN max_price - min_price < 4194304 THEN 22 WHEN max_price - min_price < 8388608 THEN 23 WHEN max_price - min_price < 16777216 THEN 24 WHEN max_price - min_price < 33554432 THEN 25 WHEN max_price - min_price < 67108864 THEN 26 WHEN max_price - min_price < 134217728 THEN 27 WHEN max_price - min_price < 268435456 THEN 28 WHEN max_price - min_price < 536870912 THEN 29 WHEN max_price - min_price < 1073741824 THEN 30 WHEN max_price - min_price < 2147483648 THEN 31 WHEN max_price - min_price < 4294967296 THEN 32 WHEN max_price - min_price < 8589934592 THEN 33 WHEN max_price - min_price < 17179869184 THEN 34 WHEN max_price - min_price < 34359738368 THEN 35 WHEN max_price - min_price < 68719476736 THEN 36 WHEN max_price - min_price < 137438953472 THEN 37 WHEN max_price - min_price < 274877906944 THEN 38 WHEN max_price - min_price < 549755813888 THEN 39 ELSE 40 END) VIRTUAL NOT NULL,
	PRIMARY KEY(`lane`, `product_id`),
	FOREIGN KEY (`lane`) REFERENCES `storefront_lanes`(`lane`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`product_id`) REFERENCES `products`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
INSERT INTO `storefront_entries` (`lane`, `product_id`, `created_at`, `min_price`, `max_price`, `title`, `title_label`, `title_row`)
  SELECT `lane`, `product_id`, `created_at`, `min_price`, `max_price`, `title`, `title_label`, `title_row`
  FROM `__old_storefront_entries` ORDER BY `lane`, `product_id`;--> statement-breakpoint
DROP TABLE `__old_storefront_entries`;--> statement-breakpoint
DROP TABLE `__old_storefront_lanes`;--> statement-breakpoint
CREATE UNIQUE INDEX `storefront_lanes_list_uq` ON `storefront_lanes` (`region_id`,`locale`,`list_id`);--> statement-breakpoint
CREATE INDEX `storefront_lanes_category_idx` ON `storefront_lanes` (`category_id`);--> statement-breakpoint
CREATE INDEX `storefront_lanes_collection_idx` ON `storefront_lanes` (`collection_id`);--> statement-breakpoint
CREATE INDEX `storefront_entries_product_idx` ON `storefront_entries` (`product_id`);--> statement-breakpoint
CREATE INDEX `storefront_entries_newest_idx` ON `storefront_entries` (`lane`,`created_at`,`product_id`);--> statement-breakpoint
CREATE INDEX `storefront_entries_price_idx` ON `storefront_entries` (`lane`,`min_price`,`product_id`);--> statement-breakpoint
CREATE INDEX `storefront_entries_title_idx` ON `storefront_entries` (`lane`,`title`,`product_id`);--> statement-breakpoint
CREATE INDEX `storefront_entries_spread_idx` ON `storefront_entries` (`lane`,`spread_level`,`min_price`,`product_id`);--> statement-breakpoint
CREATE TRIGGER `storefront_entries_title_ad` AFTER DELETE ON `storefront_entries`
WHEN old.`title_row` IS NOT NULL BEGIN
  DELETE FROM `storefront_search_titles` WHERE rowid = old.`title_row`;
END;--> statement-breakpoint
-- Nothing references storefront_search_rows; its rows keep their numbers (`row`, the rowid).
CREATE TABLE `__new_storefront_search_rows` (
	`row` integer PRIMARY KEY NOT NULL,
	`product_id` text NOT NULL,
	`region_id` text NOT NULL,
	`price_key` integer,
	`date_key` integer,
	FOREIGN KEY (`product_id`) REFERENCES `products`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
INSERT INTO `__new_storefront_search_rows` (`row`, `product_id`, `region_id`, `price_key`, `date_key`)
  SELECT `row`, `product_id`, `region_id`, `price_key`, `date_key` FROM `storefront_search_rows`;--> statement-breakpoint
DROP TABLE `storefront_search_rows`;--> statement-breakpoint
ALTER TABLE `__new_storefront_search_rows` RENAME TO `storefront_search_rows`;--> statement-breakpoint
CREATE UNIQUE INDEX `storefront_search_rows_uq` ON `storefront_search_rows` (`product_id`,`region_id`);--> statement-breakpoint
CREATE INDEX `storefront_search_rows_region_idx` ON `storefront_search_rows` (`region_id`);--> statement-breakpoint
CREATE TRIGGER `storefront_search_rows_ad` AFTER DELETE ON `storefront_search_rows` BEGIN
  DELETE FROM `storefront_search` WHERE rowid = old.`row`;
  DELETE FROM `storefront_search_prices` WHERE rowid = (old.`price_key` << 31) | old.`row` AND old.`row` < 2147483648;
  DELETE FROM `storefront_search_dates` WHERE rowid = (old.`date_key` << 31) | old.`row` AND old.`row` < 2147483648;
END;--> statement-breakpoint
-- Nothing references storefront_rebuilds either (0021); a rebuild under way keeps its place.
CREATE TABLE `__new_storefront_rebuilds` (
	`target` text PRIMARY KEY NOT NULL,
	`region_id` text,
	`category_id` text,
	`collection_id` text,
	`deleted_list` text,
	`after_product` text NOT NULL,
	`requested_at` integer NOT NULL,
	`step_products` text,
	FOREIGN KEY (`region_id`) REFERENCES `regions`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`category_id`) REFERENCES `categories`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`collection_id`) REFERENCES `collections`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "storefront_rebuilds_target" CHECK(target = coalesce(region_id, category_id, collection_id, target)
        AND (region_id IS NOT NULL) + (category_id IS NOT NULL) + (collection_id IS NOT NULL)
          + (deleted_list IS NOT NULL) = 1
        AND (deleted_list IS NULL OR deleted_list IN ('category', 'collection', 'region')))
);
--> statement-breakpoint
INSERT INTO `__new_storefront_rebuilds` (`target`, `region_id`, `category_id`, `collection_id`, `deleted_list`, `after_product`, `requested_at`, `step_products`)
  SELECT `target`, `region_id`, `category_id`, `collection_id`, `deleted_list`, `after_product`, `requested_at`, `step_products` FROM `storefront_rebuilds`;--> statement-breakpoint
DROP TABLE `storefront_rebuilds`;--> statement-breakpoint
ALTER TABLE `__new_storefront_rebuilds` RENAME TO `storefront_rebuilds`;--> statement-breakpoint
-- A region, leaf category or collection deleted by SQL alone (by hand, or by the previous Worker between this
-- migration and the deploy) does not leave its rows behind. The Worker's own delete sets the deletion's mark and
-- runs the first step before it; when that step was the last, nothing is left and these do nothing. Foreign key
-- actions run before AFTER triggers, so a rebuild's mark of the deleted row has cascaded away by then. (A
-- category or collection the previous Worker deletes in steps keeps its lanes: README, "Upgrading across
-- migration 0028".)
-- A region's rows get the deletion's mark, and the steps delete them.
CREATE TRIGGER `regions_storefront_ad` AFTER DELETE ON `regions`
WHEN EXISTS (SELECT 1 FROM `storefront_lanes` WHERE `region_id` = old.`id`)
  OR EXISTS (SELECT 1 FROM `storefront_search_rows` WHERE `region_id` = old.`id`) BEGIN
  INSERT INTO `storefront_rebuilds` (`target`, `deleted_list`, `after_product`, `requested_at`)
  VALUES (old.`id`, 'region', '', CAST(unixepoch('subsec') * 1000 AS INTEGER))
  ON CONFLICT (`target`) DO NOTHING;
END;--> statement-breakpoint
-- A category's or collection's lanes go at once, as their cascade did before, unless a deletion's steps are
-- under way (its products are no longer known here: their links are gone).
CREATE TRIGGER `categories_storefront_ad` AFTER DELETE ON `categories`
WHEN NOT EXISTS (SELECT 1 FROM `storefront_rebuilds` WHERE `target` = old.`id`) BEGIN
  DELETE FROM `storefront_lanes` WHERE `category_id` = old.`id`;
END;--> statement-breakpoint
CREATE TRIGGER `collections_storefront_ad` AFTER DELETE ON `collections`
WHEN NOT EXISTS (SELECT 1 FROM `storefront_rebuilds` WHERE `target` = old.`id`) BEGIN
  DELETE FROM `storefront_lanes` WHERE `collection_id` = old.`id`;
END;
