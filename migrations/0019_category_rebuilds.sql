-- A moved category's products are relisted in steps, like a region's after a change of currency or locales
-- (src/modules/storefront/rebuild.ts). A step walks the category's links in product order: the category index
-- gets the product id.
DROP INDEX `product_categories_category_idx`;--> statement-breakpoint
CREATE INDEX `product_categories_category_idx` ON `product_categories` (`category_id`,`product_id`);--> statement-breakpoint
-- storefront_rebuilds holds both kinds of rebuild: keyed by `target`, the region's or the category's id, with
-- the foreign key of each kind. Nothing references the table, so it is rebuilt without touching foreign key
-- enforcement, and a rebuild under way keeps its place.
CREATE TABLE `__new_storefront_rebuilds` (
	`target` text PRIMARY KEY NOT NULL,
	`region_id` text,
	`category_id` text,
	`after_product` text NOT NULL,
	`requested_at` integer NOT NULL,
	FOREIGN KEY (`region_id`) REFERENCES `regions`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`category_id`) REFERENCES `categories`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "storefront_rebuilds_target" CHECK(target = coalesce(region_id, category_id) AND (region_id IS NULL) <> (category_id IS NULL))
);
--> statement-breakpoint
INSERT INTO `__new_storefront_rebuilds`("target", "region_id", "category_id", "after_product", "requested_at") SELECT "region_id", "region_id", NULL, "after_product", "requested_at" FROM `storefront_rebuilds`;--> statement-breakpoint
DROP TABLE `storefront_rebuilds`;--> statement-breakpoint
ALTER TABLE `__new_storefront_rebuilds` RENAME TO `storefront_rebuilds`;
