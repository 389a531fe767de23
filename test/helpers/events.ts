/**
 * The event backbone in tests: the real local queue delivers events to the real consumers in the background, so a
 * test that needs a consumer's effect (a mail, a sales row) waits for the consumer's processed mark, by bounded
 * polling, and tests that drive the handler directly build real message batches.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { asc, eq, isNull, sql } from 'drizzle-orm';
import { expect, vi } from 'vitest';
import { outboxEvents } from '../../src/db/schema';
import { handleEventBatch } from '../../src/jobs/event-queue';
import { OUTBOX_SWEEP_JOB, sweepOutbox } from '../../src/jobs/outbox-sweep';
import { systemCaller } from '../../src/lib/caller';
import { createDb } from '../../src/lib/db';
import type { EventConsumer } from '../../src/lib/event-consumer';
import type { EventEnvelope } from '../../src/lib/event-envelope';
import { createLogger } from '../../src/lib/logger';
import { envelopeOf, type OutboxRow } from '../../src/lib/outbox';
import { emailConsumer } from '../../src/modules/notifications/consumer';

/** Attempts x pause bound a wait at 30 s: long enough for a busy machine, and a test never asserts on the time. */
const ATTEMPTS = 600;
const PAUSE_MS = 50;

/** Reads until `done` holds, or fails naming `what` after the bounded number of attempts. */
export async function eventually<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const value = await read();
    if (done(value)) return value;
    if (attempt === ATTEMPTS) throw new Error(`gave up waiting for ${what}`);
    await scheduler.wait(PAUSE_MS);
  }
}

/** The outbox rows a request (or job run) wrote, in the order they were written. */
export function outboxRowsOf(requestId: string | null): Promise<OutboxRow[]> {
  return createDb(env.DB)
    .select()
    .from(outboxEvents)
    .where(requestId === null ? isNull(outboxEvents.requestId) : eq(outboxEvents.requestId, requestId))
    .orderBy(asc(outboxEvents.occurredAt), sql`rowid`);
}

/** Reads until it finds something (not null), bounded like `eventually`. */
export async function eventuallyFound<T>(what: string, read: () => Promise<T | null>): Promise<T> {
  return (await eventually(what, read, (value) => value !== null)) as T;
}

/** Whether `consumer` has processed the event (its mark is written with its effect). */
export async function processedBy(consumer: string, eventId: string): Promise<boolean> {
  const row = await env.DB.prepare(
    'SELECT 1 AS done FROM processed_events WHERE consumer = ? AND event_id = ?',
  )
    .bind(consumer, eventId)
    .first();
  return row !== null;
}

/** Waits until `consumer` has processed every event the request raised that it handles; returns those events. */
export async function consumedAfter(
  requestId: string | null,
  consumer: Pick<EventConsumer, 'name' | 'handles'>,
): Promise<OutboxRow[]> {
  const rows = (await outboxRowsOf(requestId)).filter((row) =>
    consumer.handles(row.type as Parameters<EventConsumer['handles']>[0]),
  );
  expect(rows.length, `events of ${requestId} for ${consumer.name}`).toBeGreaterThan(0);
  for (const row of rows) {
    await eventually(
      `${consumer.name} to process ${row.type} ${row.id}`,
      () => processedBy(consumer.name, row.id),
      Boolean,
    );
  }
  return rows;
}

/** Waits until the email consumer has handled what the request (a `Response` or its request id) raised. */
export async function mailSentAfter(request: Response | string | null): Promise<void> {
  const requestId = request instanceof Response ? request.headers.get('X-Request-Id') : request;
  await consumedAfter(requestId, emailConsumer);
}

/**
 * Runs the event queue's handler on `bodies` as one batch, as the platform would deliver it, and returns what it
 * acked and retried, with the delay of each retry (the test batch does not record it, so `retry` is observed).
 * `attempts` is the delivery count of every message.
 */
export async function deliverBatch(
  bodies: unknown[],
  options: { env?: Env; consumers?: readonly EventConsumer[]; attempts?: number } = {},
) {
  const batch = createMessageBatch(
    'edgecart-events',
    bodies.map((body, i) => ({
      id: `msg-${i}-${crypto.randomUUID()}`,
      timestamp: new Date(),
      attempts: options.attempts ?? 1,
      body,
    })),
  );
  const retries = batch.messages.map((message) => vi.spyOn(message, 'retry'));
  const ctx = createExecutionContext();
  await handleEventBatch(batch, options.env ?? env, ctx, options.consumers);
  const result = await getQueueResult(batch, ctx);
  return {
    acked: result.explicitAcks,
    retried: result.retryMessages.map(({ msgId }) => ({
      msgId,
      delaySeconds:
        retries[batch.messages.findIndex((m) => m.id === msgId)]?.mock.calls[0]?.[0]?.delaySeconds,
    })),
    retryBatch: result.retryBatch.retry,
  };
}

/** A catalog envelope built as the outbox would carry it, for consumers whose writers do not exist yet (orders). */
export function syntheticEnvelope<D extends Record<string, unknown>>(
  type: string,
  data: D,
  extra: Partial<EventEnvelope> = {},
): EventEnvelope & { data: D } {
  return {
    id: `evt_test_${crypto.randomUUID()}`,
    type,
    version: 1,
    occurred_at: new Date().toISOString(),
    aggregate: { type: type.split('.')[0] as string, id: (data.id as string | undefined) ?? 'agg_test' },
    traceparent: null,
    ...extra,
    data,
  };
}

/** The envelopes of outbox rows, as the publisher sends them. */
export const envelopesOf = (rows: OutboxRow[]) => rows.map(envelopeOf);

/** One run of the outbox sweep, as its cron job runs it (its own caller and logger). */
export function sweep() {
  const runId = crypto.randomUUID();
  return sweepOutbox(env, {
    caller: systemCaller(OUTBOX_SWEEP_JOB, runId),
    logger: createLogger({ job: OUTBOX_SWEEP_JOB, run_id: runId }),
  });
}
