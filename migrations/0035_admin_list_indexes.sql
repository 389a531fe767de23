DROP INDEX `audit_log_target_idx`;--> statement-breakpoint
DROP INDEX `audit_log_actor_idx`;--> statement-breakpoint
DROP INDEX `audit_log_created_idx`;--> statement-breakpoint
CREATE INDEX `audit_log_action_idx` ON `audit_log` (`action`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `audit_log_actor_type_idx` ON `audit_log` (`actor_type`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `audit_log_actor_id_idx` ON `audit_log` (`actor_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `audit_log_target_type_idx` ON `audit_log` (`target_type`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `audit_log_target_id_idx` ON `audit_log` (`target_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `audit_log_created_idx` ON `audit_log` (`created_at`,`id`);--> statement-breakpoint
DROP INDEX `categories_parent_idx`;--> statement-breakpoint
CREATE INDEX `categories_parent_idx` ON `categories` (`parent_id`,`id`);--> statement-breakpoint
CREATE INDEX `sales_daily_region_day_idx` ON `sales_daily` (`region`,`day`,`country`,`currency`);--> statement-breakpoint
CREATE INDEX `api_keys_created_idx` ON `api_keys` (`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `api_keys_unrevoked_created_idx` ON `api_keys` (`created_at`,`id`) WHERE revoked_at IS NULL;--> statement-breakpoint
CREATE INDEX `api_keys_kind_created_idx` ON `api_keys` (`kind`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `products_status_id_idx` ON `products` (`status`,`id`);--> statement-breakpoint
CREATE INDEX `dead_letters_event_type_created_idx` ON `dead_letters` (`event_type`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `staff_invites_created_idx` ON `staff_invites` (`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `staff_invites_open_created_idx` ON `staff_invites` (`created_at`,`id`) WHERE accepted_at IS NULL AND revoked_at IS NULL;--> statement-breakpoint
CREATE INDEX `staff_invites_accepted_created_idx` ON `staff_invites` (`created_at`,`id`) WHERE accepted_at IS NOT NULL;--> statement-breakpoint
CREATE INDEX `staff_invites_revoked_created_idx` ON `staff_invites` (`created_at`,`id`) WHERE accepted_at IS NULL AND revoked_at IS NOT NULL;--> statement-breakpoint
CREATE INDEX `staff_users_created_idx` ON `staff_users` (`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `staff_users_role_created_idx` ON `staff_users` (`role`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `staff_users_status_created_idx` ON `staff_users` (`status`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_endpoint_status_idx` ON `webhook_deliveries` (`endpoint_id`,`status`,`created_at`,`id`);