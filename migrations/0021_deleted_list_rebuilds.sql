-- Deleting a leaf category or a collection relists the products it listed in steps, like a moved category's
-- (src/modules/storefront/rebuild.ts). The deletion's mark outlives the category or collection, so no foreign
-- key names it: `deleted_list` says which kind it was. Nothing references the table, so it is rebuilt without
-- touching foreign key enforcement, and a rebuild under way keeps its place.
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
        AND (deleted_list IS NULL OR deleted_list IN ('category', 'collection')))
);
--> statement-breakpoint
INSERT INTO `__new_storefront_rebuilds`("target", "region_id", "category_id", "collection_id", "deleted_list", "after_product", "requested_at", "step_products") SELECT "target", "region_id", "category_id", "collection_id", NULL, "after_product", "requested_at", "step_products" FROM `storefront_rebuilds`;--> statement-breakpoint
DROP TABLE `storefront_rebuilds`;--> statement-breakpoint
ALTER TABLE `__new_storefront_rebuilds` RENAME TO `storefront_rebuilds`;--> statement-breakpoint
-- The products a deletion's steps walk, captured in the delete's batch before its links cascade away. No foreign
-- key to the mark: a later rebuild of storefront_rebuilds like the one above would cascade them away.
CREATE TABLE `storefront_rebuild_products` (
	`target` text NOT NULL,
	`product_id` text NOT NULL,
	PRIMARY KEY(`target`, `product_id`),
	FOREIGN KEY (`product_id`) REFERENCES `products`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `storefront_rebuild_products_product_idx` ON `storefront_rebuild_products` (`product_id`);
