CREATE TABLE `storefront_rebuilds` (
	`region_id` text PRIMARY KEY NOT NULL,
	`after_product` text NOT NULL,
	`requested_at` integer NOT NULL,
	FOREIGN KEY (`region_id`) REFERENCES `regions`(`id`) ON UPDATE no action ON DELETE cascade
);
