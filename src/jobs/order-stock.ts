/**
 * Finishes what order requests could not (a Worker that died after its batch, a follow-up that failed):
 *
 * - orders whose units are still `held` a minute after placing: sell them (an order whose units ran out is
 *   canceled, its payment voided); held units of a canceled order are released;
 * - canceled orders whose units are `sold`: put them back on hand;
 * - orders still `pending_payment` after PENDING_PAYMENT_TTL_MS (the shopper never finished paying): cancel
 *   them, which voids the payment and gives their units back.
 *
 * Every step is idempotent (src/modules/orders/stock.ts), so this job and a request's own follow-up may both
 * run it. Each queue is read through its own partial index, at most BATCH orders a run.
 */
import { and, asc, eq, lt } from 'drizzle-orm';
import { orders } from '../db/schema';
import { createDb } from '../lib/db';
import { describeError } from '../lib/logger';
import { cancelOrderAs, sellOrderStock } from '../modules/orders/cancel';
import { settleStockNow } from '../modules/orders/stock';
import { type JobContext, type JobResult, runJob } from './run-job';

export const ORDER_STOCK_JOB = 'order-stock-sweep';

/** Longer than a checkout takes from its batch to its own follow-up. */
export const HELD_GRACE_MS = 60_000;
/** How long an order may wait for the shopper to pay (Stripe's confirmation in the browser). */
export const PENDING_PAYMENT_TTL_MS = 30 * 60_000;
const BATCH = 50;

export const PAYMENT_NOT_COMPLETED_REASON = 'payment not completed in time';

export async function sweepOrderStock(env: Env, job: JobContext, now = Date.now()): Promise<JobResult> {
  const db = createDb(env.DB);
  const ids = (rows: { id: string }[]) => rows.map((r) => r.id);
  const held = await db
    .select({ id: orders.id })
    .from(orders)
    .where(and(eq(orders.stockStatus, 'held'), lt(orders.createdAt, new Date(now - HELD_GRACE_MS))))
    .orderBy(asc(orders.createdAt))
    .limit(BATCH);
  const toReturn = await db
    .select({ id: orders.id })
    .from(orders)
    .where(and(eq(orders.stockStatus, 'sold'), eq(orders.status, 'canceled')))
    .orderBy(asc(orders.updatedAt))
    .limit(BATCH);
  const unpaid = await db
    .select({ id: orders.id })
    .from(orders)
    .where(
      and(eq(orders.status, 'pending_payment'), lt(orders.createdAt, new Date(now - PENDING_PAYMENT_TTL_MS))),
    )
    .orderBy(asc(orders.createdAt))
    .limit(BATCH);

  // One order's failure (an object or the provider unreachable) must not stop the others; it is retried next run.
  let failed = 0;
  const each = async (orderIds: string[], work: (id: string) => Promise<unknown>) => {
    for (const id of orderIds) {
      try {
        await work(id);
      } catch (error) {
        failed++;
        job.logger.error('order stock sweep failed for an order', { order_id: id, ...describeError(error) });
      }
    }
  };
  await each(ids(held), (id) => sellOrderStock(env, job.caller, id));
  await each(ids(toReturn), (id) => settleStockNow(env, job.caller, id));
  await each(ids(unpaid), (id) => cancelOrderAs(env, job.caller, id, PAYMENT_NOT_COMPLETED_REASON));
  return { held: held.length, returned: toReturn.length, expired: unpaid.length, failed };
}

export function runOrderStockJob(env: Env): Promise<void> {
  return runJob(ORDER_STOCK_JOB, env, (job) => sweepOrderStock(job.env, job));
}
