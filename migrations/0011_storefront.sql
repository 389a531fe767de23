CREATE TABLE `storefront_documents` (
	`product_id` text PRIMARY KEY NOT NULL,
	`document` text NOT NULL,
	FOREIGN KEY (`product_id`) REFERENCES `products`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `storefront_entries` (
	`lane` integer NOT NULL,
	`product_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`min_price` integer NOT NULL,
	`max_price` integer NOT NULL,
	`title` text NOT NULL,
	PRIMARY KEY(`lane`, `product_id`),
	FOREIGN KEY (`lane`) REFERENCES `storefront_lanes`(`lane`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`product_id`) REFERENCES `products`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `storefront_entries_product_idx` ON `storefront_entries` (`product_id`);--> statement-breakpoint
CREATE INDEX `storefront_entries_newest_idx` ON `storefront_entries` (`lane`,`created_at`,`product_id`);--> statement-breakpoint
CREATE INDEX `storefront_entries_price_idx` ON `storefront_entries` (`lane`,`min_price`,`product_id`);--> statement-breakpoint
CREATE INDEX `storefront_entries_title_idx` ON `storefront_entries` (`lane`,`title`,`product_id`);--> statement-breakpoint
CREATE TABLE `storefront_lanes` (
	`lane` integer PRIMARY KEY NOT NULL,
	`region_id` text NOT NULL,
	`locale` text NOT NULL,
	`category_id` text,
	`collection_id` text,
	`list_id` text GENERATED ALWAYS AS (coalesce(category_id, collection_id, '')) VIRTUAL NOT NULL,
	FOREIGN KEY (`region_id`) REFERENCES `regions`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`category_id`) REFERENCES `categories`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`collection_id`) REFERENCES `collections`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `storefront_lanes_list_uq` ON `storefront_lanes` (`region_id`,`locale`,`list_id`);--> statement-breakpoint
CREATE INDEX `storefront_lanes_category_idx` ON `storefront_lanes` (`category_id`);--> statement-breakpoint
CREATE INDEX `storefront_lanes_collection_idx` ON `storefront_lanes` (`collection_id`);