/**
 * Forgets finished deliveries a month after they finished. Each one keeps the exact body it sent (an event
 * payload, which can name a customer) and up to eight attempt rows, one delivery per endpoint and event, so the
 * table grows with traffic times endpoints; a month leaves staff time to look into a failure or redeliver it.
 * Pending deliveries are never touched: their retries still need them.
 *
 * The unique (event, endpoint) index no longer sees a deleted delivery, so a dead-lettered event replayed after
 * the window reaches its endpoints again; receivers dedupe by `webhook-id`, which is the event's id.
 */
import { inArray, lt } from 'drizzle-orm';
import { webhookDeliveries } from '../../db/schema';
import { createDb, type Database } from '../../lib/db';

export const FINISHED_DELIVERY_RETENTION_MS = 30 * 86_400_000;
/** Deliveries per run (each with at most eight attempts): a backlog drains over a few runs. */
export const DELIVERY_PRUNE_LIMIT = 500;

/**
 * Deliveries finished before `cutoff`, through webhook_deliveries_completed_idx. A delivery gets its completion
 * time exactly when it becomes succeeded, failed or canceled (deliver.ts), so the time alone selects them; a
 * status condition would make SQLite pick the due index and read every finished delivery.
 */
export function finishedDeliveriesBefore(db: Database, cutoff: Date) {
  return db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(lt(webhookDeliveries.completedAt, cutoff))
    .limit(DELIVERY_PRUNE_LIMIT);
}

/** Deletes up to DELIVERY_PRUNE_LIMIT expired deliveries; their attempts go with them (foreign key cascade). */
export async function pruneFinishedDeliveries(env: Env, now = new Date()): Promise<{ deleted: number }> {
  const db = createDb(env.DB);
  const cutoff = new Date(now.getTime() - FINISHED_DELIVERY_RETENTION_MS);
  const deleted = await db
    .delete(webhookDeliveries)
    .where(inArray(webhookDeliveries.id, finishedDeliveriesBefore(db, cutoff)))
    .returning({ id: webhookDeliveries.id });
  return { deleted: deleted.length };
}
