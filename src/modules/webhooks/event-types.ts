/**
 * Which event types an endpoint may subscribe to, and whether a subscription matches an event. An endpoint lists
 * exact type names, `<aggregate>.*` for every type of one aggregate, or `*` for everything. The names are the
 * event catalog's public types: internal events (mail requests) never leave edgecart.
 */
import { PUBLIC_EVENT_TYPES } from '../../lib/event-catalog';

export const WEBHOOK_EVENT_TYPES = PUBLIC_EVENT_TYPES;

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

/**
 * The public types an endpoint subscribed to `patterns` receives: what a read of the outbox (which holds internal
 * events too, that `*` or `customer.*` would match) must filter by.
 */
export function subscribedTypes(patterns: readonly string[]): string[] {
  return WEBHOOK_EVENT_TYPES.filter((type) => subscribesTo(patterns, type));
}
