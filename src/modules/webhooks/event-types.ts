/**
 * Which event types an endpoint may subscribe to, and whether a subscription matches an event. An endpoint lists
 * exact type names, `<aggregate>.*` for every type of one aggregate, or `*` for everything.
 *
 * WEBHOOK_EVENT_TYPES is the webhooks module's own copy of the event catalog's names; when the event backbone
 * publishes its catalog, this constant is replaced by that catalog's list (nothing else here changes).
 */

export const WEBHOOK_EVENT_TYPES = [
  'product.created',
  'product.updated',
  'product.deleted',
  'region.created',
  'region.updated',
  'region.deleted',
  'category.created',
  'category.updated',
  'category.deleted',
  'collection.created',
  'collection.updated',
  'collection.deleted',
  'inventory.low_stock',
  'inventory.out_of_stock',
  'cart.created',
  'cart.updated',
  'cart.merged',
  'cart.checkout_started',
  'order.created',
  'order.paid',
  'order.fulfilled',
  'order.canceled',
  'order.refunded',
  'customer.created',
  'customer.deleted',
  'webhook_endpoint.disabled',
] as const;

/** The type of the test ping (`POST /v1/admin/webhooks/{id}/test`): sent to one endpoint, never subscribed to. */
export const PING_EVENT_TYPE = 'webhook.ping';

const KNOWN_TYPES = new Set<string>(WEBHOOK_EVENT_TYPES);
const KNOWN_AGGREGATES = new Set(WEBHOOK_EVENT_TYPES.map((type) => type.slice(0, type.indexOf('.'))));

/** Whether `pattern` is `*`, `<known aggregate>.*` or a known type. */
export function isEventTypePattern(pattern: string): boolean {
  if (pattern === '*' || KNOWN_TYPES.has(pattern)) return true;
  return pattern.endsWith('.*') && KNOWN_AGGREGATES.has(pattern.slice(0, -2));
}

/** Whether an endpoint subscribed to `patterns` receives events of `type`. */
export function subscribesTo(patterns: readonly string[], type: string): boolean {
  return patterns.some(
    (pattern) =>
      pattern === '*' ||
      pattern === type ||
      (pattern.endsWith('.*') && type.startsWith(pattern.slice(0, -1))),
  );
}
