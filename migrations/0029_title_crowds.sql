-- Marks of whole-catalog entries that share their title label with the entry before them in title order: a write
-- marks the entries it gives a shared label (src/modules/storefront/statements.ts, crowdsInsert), and the
-- storefront-rebuild job spreads the labels around each mark again (src/modules/storefront/title-respread.ts).
-- The INSERT marks the crowds written before this migration, each entry of a whole-catalog lane whose label is
-- its predecessor's (a walk of each such lane's title index). Both statements run again without harm.
CREATE TABLE IF NOT EXISTS `storefront_title_crowds` (
	`lane` integer NOT NULL,
	`product_id` text NOT NULL,
	PRIMARY KEY(`lane`, `product_id`)
);
--> statement-breakpoint
INSERT INTO `storefront_title_crowds` (`lane`, `product_id`)
  SELECT lane, product_id FROM (
    SELECT e.lane, e.product_id, e.title_label,
      lag(e.title_label) OVER (PARTITION BY e.lane ORDER BY e.title, e.product_id) AS previous
    FROM storefront_lanes l CROSS JOIN storefront_entries e INDEXED BY storefront_entries_title_idx ON e.lane = l.lane
    WHERE l.list_id = '' AND e.title_label IS NOT NULL
  ) WHERE title_label = previous
  ON CONFLICT DO NOTHING;
