-- A collection's new product list relists the products it lists and listed in steps, like a moved category's
-- (src/modules/storefront/rebuild.ts). A step walks the collection's links in product order: the collection
-- index gets the product id.
DROP INDEX `product_collections_collection_idx`;--> statement-breakpoint
CREATE INDEX `product_collections_collection_idx` ON `product_collections` (`collection_id`,`product_id`);--> statement-breakpoint
-- storefront_rebuilds gets the collection's kind of rebuild, and `step_products`: the products of the step under
-- way, fixed by its first statement for the others. Nothing references the table, so it is rebuilt without
-- touching foreign key enforcement, and a rebuild under way keeps its place.
CREATE TABLE `__new_storefront_rebuilds` (
	`target` text PRIMARY KEY NOT NULL,
	`region_id` text,
	`category_id` text,
	`collection_id` text,
	`after_product` text NOT NULL,
	`requested_at` integer NOT NULL,
	`step_products` text,
	FOREIGN KEY (`region_id`) REFERENCES `regions`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`category_id`) REFERENCES `categories`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`collection_id`) REFERENCES `collections`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "storefront_rebuilds_target" CHECK(target = coalesce(region_id, category_id, collection_id)
        AND (region_id IS NOT NULL) + (category_id IS NOT NULL) + (collection_id IS NOT NULL) = 1)
);
--> statement-breakpoint
INSERT INTO `__new_storefront_rebuilds`("target", "region_id", "category_id", "collection_id", "after_product", "requested_at", "step_products") SELECT "target", "region_id", "category_id", NULL, "after_product", "requested_at", NULL FROM `storefront_rebuilds`;--> statement-breakpoint
DROP TABLE `storefront_rebuilds`;--> statement-breakpoint
ALTER TABLE `__new_storefront_rebuilds` RENAME TO `storefront_rebuilds`;
