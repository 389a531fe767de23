CREATE TABLE `storefront_search_rows` (
	`row` integer PRIMARY KEY NOT NULL,
	`product_id` text NOT NULL,
	`region_id` text NOT NULL,
	FOREIGN KEY (`product_id`) REFERENCES `products`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`region_id`) REFERENCES `regions`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `storefront_search_rows_uq` ON `storefront_search_rows` (`product_id`,`region_id`);--> statement-breakpoint
CREATE INDEX `storefront_search_rows_region_idx` ON `storefront_search_rows` (`region_id`);