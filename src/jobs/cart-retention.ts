/** Deletes carts abandoned for a month, with their lines (src/modules/carts/retention.ts). */
import { pruneAbandonedCarts } from '../modules/carts/retention';
import { runJob } from './run-job';

export const CART_RETENTION_JOB = 'cart-retention';

export function runCartRetentionJob(env: Env): Promise<void> {
  return runJob(CART_RETENTION_JOB, env, ({ env: metered }) => pruneAbandonedCarts(metered));
}
