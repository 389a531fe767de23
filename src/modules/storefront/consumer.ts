/**
 * The storefront as a consumer of the event queue (src/jobs/event-consumers.ts): a region's creation, change or
 * delete, a category's move, a collection's new product list or the delete of either may leave read model rows to
 * be rebuilt (or deleted) in steps (rebuild.ts), and this starts them as soon as the change is published instead
 * of at the next run of the storefront-rebuild job. It works for CONSUMER_BUDGET_MS, short enough not to hold up
 * the other events of its queue batch; the job finishes what is left.
 */
import type { EventConsumer } from '../../lib/event-consumer';
import { continueStorefrontRebuilds } from './rebuild';

export const STOREFRONT_CONSUMER = 'storefront';

const CONSUMER_BUDGET_MS = 10_000;

/** The events of changes that can start a rebuild (a category's update may be a move, a collection's a list). */
const REBUILT_AFTER = new Set([
  'region.created',
  'region.updated',
  'region.deleted',
  'category.updated',
  'category.deleted',
  'collection.updated',
  'collection.deleted',
]);

export const storefrontConsumer: EventConsumer = {
  name: STOREFRONT_CONSUMER,
  handles: (type) => REBUILT_AFTER.has(type),
  async consume(env, event, { caller, logger, commitOnce }) {
    const progress = await continueStorefrontRebuilds(env, caller, {
      deadline: Date.now() + CONSUMER_BUDGET_MS,
    });
    // Steps taken here would otherwise show only in the queue run's line; an event that started none (a rename)
    // logs nothing.
    if (progress.steps > 0) {
      logger.info('storefront rebuild', { event_id: event.id, event_type: event.type, ...progress });
    }
    await commitOnce({ statements: [] });
  },
};
