/**
 * The wire shape of a domain event once it leaves the outbox: what the event queue carries, what consumers
 * (email, webhooks, analytics, live channels) receive and what a webhook receiver gets as its body. Field names
 * are snake_case like the rest of the public API; `data` is the event's payload, validated per type by the event
 * catalog.
 */
import { z } from 'zod';

export const EventEnvelopeSchema = z.object({
  /** The outbox row id (`evt_...`): consumers and receivers deduplicate on it. */
  id: z.string(),
  /** Dotted `<aggregate>.<past tense>`, e.g. `order.created`. */
  type: z.string(),
  /** Schema version of `data` for this type. */
  version: z.number().int().positive(),
  /** When the change committed (ISO 8601). */
  occurred_at: z.string(),
  aggregate: z.object({ type: z.string(), id: z.string() }),
  /** W3C trace context of the request that caused the change, when there was one. */
  traceparent: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
});

export type EventEnvelope = z.infer<typeof EventEnvelopeSchema>;
