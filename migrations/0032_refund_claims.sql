ALTER TABLE `refunds` ADD `provider_key` text;--> statement-breakpoint
ALTER TABLE `refunds` ADD `claimed_at` integer DEFAULT 0;--> statement-breakpoint
CREATE INDEX `refunds_unclaimed_idx` ON `refunds` (`created_at`) WHERE "refunds"."claimed_at" IS NULL;