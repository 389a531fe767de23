CREATE TABLE `inventory_changes` (
	`variant_id` text NOT NULL,
	`id` text NOT NULL,
	`kind` text NOT NULL,
	`delta` integer NOT NULL,
	`on_hand_before` integer NOT NULL,
	`on_hand_after` integer NOT NULL,
	`settings` text,
	`reason` text NOT NULL,
	`actor_type` text NOT NULL,
	`actor_id` text NOT NULL,
	`request_id` text NOT NULL,
	`changed_at` integer NOT NULL,
	`recorded_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`variant_id`, `id`)
);
--> statement-breakpoint
CREATE TABLE `stock_levels` (
	`variant_id` text PRIMARY KEY NOT NULL,
	`level` text NOT NULL,
	`seq` integer NOT NULL,
	`changed_at` integer NOT NULL,
	`recorded_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
