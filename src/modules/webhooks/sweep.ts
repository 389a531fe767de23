/**
 * Heals lost delivery messages. A delivery is queued after its commit; if the queue refused it (after the
 * follow-up's retries), or its message was dropped after exhausting the queue's own retries, the delivery stays
 * pending with a due time long past. Run every minute, this queues such deliveries again and moves their due
 * time to now, so each is re-queued at most once per OVERDUE_AFTER_MS. A message that was merely slow and
 * arrives later finds the delivery attempted (or not due) and changes nothing.
 */
import { and, eq, inArray, lt } from 'drizzle-orm';
import { webhookDeliveries } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { commit } from '../../lib/commit';
import { createDb } from '../../lib/db';
import { enqueueDeliveries } from './delivery-queue';

/** Far beyond a healthy queue's lateness, so a sweep rarely duplicates a message that is on its way. */
export const OVERDUE_AFTER_MS = 10 * 60_000;
/** Per run; a larger backlog drains over the next minutes. */
const SWEEP_LIMIT = 100;

export async function requeueOverdueDeliveries(
  env: Env,
  caller: Caller,
  now = new Date(),
): Promise<{ requeued: number }> {
  const db = createDb(env.DB);
  const overdue = await db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.status, 'pending'),
        lt(webhookDeliveries.nextAttemptAt, new Date(now.getTime() - OVERDUE_AFTER_MS)),
      ),
    )
    .limit(SWEEP_LIMIT);
  const ids = overdue.map((row) => row.id);
  if (ids.length === 0) return { requeued: 0 };
  await commit(db, caller, {
    statements: [
      db
        .update(webhookDeliveries)
        .set({ nextAttemptAt: now })
        .where(and(inArray(webhookDeliveries.id, ids), eq(webhookDeliveries.status, 'pending'))),
    ],
  });
  await enqueueDeliveries(env, ids);
  return { requeued: ids.length };
}
