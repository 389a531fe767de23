ALTER TABLE `order_lines` ADD `reservation_id` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `orders` ADD `stock_status` text DEFAULT 'held' NOT NULL;--> statement-breakpoint
CREATE INDEX `orders_stock_held_idx` ON `orders` (`created_at`) WHERE stock_status = 'held';--> statement-breakpoint
CREATE INDEX `orders_stock_to_return_idx` ON `orders` (`updated_at`) WHERE stock_status = 'sold' AND status = 'canceled';--> statement-breakpoint
CREATE INDEX `orders_pending_payment_idx` ON `orders` (`created_at`) WHERE status = 'pending_payment';