-- Full-text search over product translations (FTS5), one row per (product, locale).
-- Kept in step with product_translations by triggers, so every write path stays searchable.
CREATE VIRTUAL TABLE `product_search` USING fts5(
  `product_id` UNINDEXED,
  `locale` UNINDEXED,
  `title`,
  `description`,
  tokenize = 'unicode61 remove_diacritics 2'
);
--> statement-breakpoint
CREATE TRIGGER `product_translations_ai` AFTER INSERT ON `product_translations` BEGIN
  INSERT INTO `product_search` (`product_id`, `locale`, `title`, `description`)
  VALUES (new.`product_id`, new.`locale`, new.`title`, new.`description`);
END;
--> statement-breakpoint
CREATE TRIGGER `product_translations_ad` AFTER DELETE ON `product_translations` BEGIN
  DELETE FROM `product_search` WHERE `product_id` = old.`product_id` AND `locale` = old.`locale`;
END;
--> statement-breakpoint
CREATE TRIGGER `product_translations_au` AFTER UPDATE ON `product_translations` BEGIN
  DELETE FROM `product_search` WHERE `product_id` = old.`product_id` AND `locale` = old.`locale`;
  INSERT INTO `product_search` (`product_id`, `locale`, `title`, `description`)
  VALUES (new.`product_id`, new.`locale`, new.`title`, new.`description`);
END;
