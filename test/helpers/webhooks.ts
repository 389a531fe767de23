/**
 * Webhook tests: a fake receiver at the fetch boundary (the only thing faked), endpoints made through HTTP, and
 * the delivery queue's handler driven with batches from cloudflare:test, so a test decides when each attempt
 * happens and sees what the handler did with the message.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { expect, type MockInstance, vi } from 'vitest';
import worker from '../../src/index';
import { systemCaller } from '../../src/lib/caller';
import { commit } from '../../src/lib/commit';
import { createDb } from '../../src/lib/db';
import type { EventEnvelope } from '../../src/lib/event-envelope';
import { newId } from '../../src/lib/ids';
import { WEBHOOK_DELIVERY_QUEUE } from '../../src/modules/webhooks/delivery-queue';
import { insertDeliveries, newDeliveryRow } from '../../src/modules/webhooks/fan-out';
import { bearer, call, jsonInit } from './http';
import { unique } from './unique';

/** What a receiver got: the URL, the headers (lower-cased names) and the raw body. */
export type Received = { url: string; headers: Record<string, string>; body: string };
type Answer = (request: Received, signal: AbortSignal | undefined) => Response | Promise<Response>;

/**
 * Stands in for the internet: every fetch to a host it serves is recorded and answered by that host's
 * answer function (by default 200 "ok"); a fetch to any other host fails like an unreachable one.
 */
export class FakeReceivers {
  readonly received: Received[] = [];
  readonly spy: MockInstance<typeof fetch>;
  readonly #answers = new Map<string, Answer>();

  constructor() {
    this.spy = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      const url = String(input);
      const request: Received = {
        url,
        headers: Object.fromEntries(new Headers(init?.headers).entries()),
        body: String(init?.body ?? ''),
      };
      const answer = this.#answers.get(new URL(url).host);
      if (!answer) throw new TypeError('fetch failed: host unreachable');
      this.received.push(request);
      return answer(request, init?.signal ?? undefined);
    });
  }

  /** A new receiver URL on a host of its own, answered by `answer`. */
  url(answer: Answer = () => new Response('ok')): string {
    const host = `${unique('receiver')}.example.com`;
    this.#answers.set(host, answer);
    return `https://${host}/hooks`;
  }

  /** Changes how the receiver at `url` answers from now on. */
  answer(url: string, answer: Answer): void {
    this.#answers.set(new URL(url).host, answer);
  }

  at(url: string): Received[] {
    return this.received.filter((r) => r.url === url);
  }
}

export type CreatedEndpoint = { id: string; secret: string; url: string; events: string[] };

export async function createEndpoint(
  token: string,
  body: { url: string; events?: string[]; description?: string; enabled?: boolean },
): Promise<CreatedEndpoint> {
  const res = await call('/v1/admin/webhooks', jsonInit('POST', { events: ['*'], ...body }, bearer(token)));
  expect(res.status).toBe(201);
  return (await res.json()) as CreatedEndpoint;
}

/** An event as the event queue hands it to consumers. */
export function envelope(overrides: Partial<EventEnvelope> = {}): EventEnvelope {
  const id = newId('prod');
  return {
    id: newId('evt'),
    type: 'product.updated',
    version: 1,
    occurred_at: new Date().toISOString(),
    aggregate: { type: 'product', id },
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    data: { id },
    ...overrides,
  };
}

/**
 * A pending delivery of `event` to `endpointId`, committed the way the module commits one but not queued: the
 * test drives its attempts with `runDeliveryQueue`, and no background consumer races it.
 */
export async function insertDelivery(endpointId: string, event = envelope()): Promise<string> {
  const db = createDb(env.DB);
  const row = newDeliveryRow(endpointId, event, JSON.stringify(event), 'event', new Date());
  await commit(db, systemCaller('test', 'test'), { statements: insertDeliveries(db, [row]) });
  return row.id;
}

/** Hands the delivery queue's handler one batch with a message per delivery id, as the queue would. */
export async function runDeliveryQueue(...deliveryIds: string[]) {
  const batch = createMessageBatch(
    WEBHOOK_DELIVERY_QUEUE,
    deliveryIds.map((id, i) => ({
      id: `msg-${i}-${crypto.randomUUID()}`,
      timestamp: new Date(),
      attempts: 1,
      body: { delivery_id: id },
    })),
  );
  const retries = batch.messages.map((message) => vi.spyOn(message, 'retry'));
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  const result = await getQueueResult(batch, ctx);
  return {
    result,
    /** The delaySeconds each message was retried with (undefined: acknowledged). */
    retryDelays: retries.map((spy) => spy.mock.calls[0]?.[0]?.delaySeconds),
  };
}

type DeliveryRow = {
  id: string;
  status: string;
  attempt_count: number;
  next_attempt_at: number | null;
  completed_at: number | null;
  origin: string;
  event_id: string;
};
type AttemptRow = {
  attempt: number;
  attempted_at: number;
  latency_ms: number;
  response_status: number | null;
  response_excerpt: string | null;
  error: string | null;
};

export async function deliveryRow(id: string): Promise<DeliveryRow> {
  const row = await env.DB.prepare('SELECT * FROM webhook_deliveries WHERE id = ?')
    .bind(id)
    .first<DeliveryRow>();
  if (!row) throw new Error(`no delivery ${id}`);
  return row;
}

/** Waits until the delivery `id` is no longer pending; returns its row. */
export async function settledDelivery(id: string): Promise<DeliveryRow> {
  return vi.waitFor(
    async () => {
      const row = await deliveryRow(id);
      expect(row.status).not.toBe('pending');
      return row;
    },
    { timeout: 60_000, interval: 100 },
  );
}

export async function attemptRows(deliveryId: string): Promise<AttemptRow[]> {
  const { results } = await env.DB.prepare(
    'SELECT attempt, attempted_at, latency_ms, response_status, response_excerpt, error FROM webhook_delivery_attempts WHERE delivery_id = ? ORDER BY attempt',
  )
    .bind(deliveryId)
    .all<AttemptRow>();
  return results;
}

export async function endpointRow(id: string) {
  return env.DB.prepare('SELECT * FROM webhook_endpoints WHERE id = ?')
    .bind(id)
    .first<{ enabled: number; disabled_reason: string | null; failing_since: number | null }>();
}

/**
 * Waits, polling D1, until the real delivery queue has finished the deliveries of `endpointId` (none pending);
 * bounded generously, since it only guards against a hang.
 */
export async function settledDeliveries(endpointId: string, count: number) {
  return vi.waitFor(
    async () => {
      const { results } = await env.DB.prepare(
        "SELECT * FROM webhook_deliveries WHERE endpoint_id = ? AND status != 'pending' ORDER BY created_at, id",
      )
        .bind(endpointId)
        .all<DeliveryRow>();
      expect(results).toHaveLength(count);
      return results;
    },
    { timeout: 60_000, interval: 100 },
  );
}
