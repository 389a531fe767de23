CREATE TABLE `login_failures` (
	`principal_type` text NOT NULL,
	`principal_id` text NOT NULL,
	`network` text NOT NULL,
	`failures` integer NOT NULL,
	`locked_until` integer,
	`last_failure_at` integer NOT NULL,
	PRIMARY KEY(`principal_type`, `principal_id`, `network`)
);
--> statement-breakpoint
ALTER TABLE `customers` DROP COLUMN `failed_logins`;--> statement-breakpoint
ALTER TABLE `customers` DROP COLUMN `locked_until`;--> statement-breakpoint
ALTER TABLE `staff_users` DROP COLUMN `failed_logins`;--> statement-breakpoint
ALTER TABLE `staff_users` DROP COLUMN `locked_until`;