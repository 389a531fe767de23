DROP INDEX `discount_redemptions_customer_idx`;--> statement-breakpoint
DROP INDEX `discount_redemptions_email_idx`;--> statement-breakpoint
ALTER TABLE `discount_redemptions` ADD `released_at` integer;--> statement-breakpoint
CREATE INDEX `discount_redemptions_customer_idx` ON `discount_redemptions` (`discount_id`,`customer_id`,`released_at`);--> statement-breakpoint
CREATE INDEX `discount_redemptions_email_idx` ON `discount_redemptions` (`discount_id`,`email`,`released_at`);--> statement-breakpoint
-- Orders canceled before this migration give their code's use back, as a cancel now does in its batch.
UPDATE `discount_redemptions` SET `released_at` = (SELECT `updated_at` FROM `orders` WHERE `orders`.`id` = `discount_redemptions`.`order_id`)
WHERE `order_id` IN (SELECT `id` FROM `orders` WHERE `status` = 'canceled');
