/**
 * Makes the next attempt of one delivery and records it: the attempt row, the delivery's new state and the
 * endpoint's failure streak in one batch. D1 holds the schedule; the queue only carries "attempt this delivery
 * now", so a message that arrives for a finished delivery, or before the delivery is due (a duplicate), changes
 * nothing. Two messages may find one delivery due at once (a fan-out re-queueing it, the sweep): each claims the
 * attempt before sending, and only one claim takes, so the receiver gets one request per attempt.
 *
 * Outcomes: a 2xx succeeds; 410 Gone fails the delivery and disables the endpoint (the receiver says it is gone
 * for good); anything else is retried on the schedule (src/modules/webhooks/retry-schedule.ts) until the eighth
 * attempt fails. An endpoint whose every attempt has failed for FAILING_ENDPOINT_DISABLE_MS is disabled too.
 * Disabling writes an audit entry and a `webhook_endpoint.disabled` event, so staff are told through the event
 * backbone like any other change.
 */
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { webhookDeliveries, webhookDeliveryAttempts, webhookEndpoints } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { type Change, commit } from '../../lib/commit';
import { createDb, type Database } from '../../lib/db';
import { decryptField } from '../../lib/encryption';
import { newId } from '../../lib/ids';
import { retryDelaySeconds } from './retry-schedule';
import { ATTEMPT_TIMEOUT_MS, type AttemptOutcome, sendAttempt } from './send-attempt';
import { signatureHeaders } from './signature';

/** An endpoint failing every attempt for this long is disabled (Svix and Standard Webhooks senders use 5 days). */
export const FAILING_ENDPOINT_DISABLE_MS = 5 * 24 * 3600_000;
/** A message up to this early still counts as due: the queue's delay and our clock need not agree to the ms. */
const DUE_TOLERANCE_MS = 1_000;
/**
 * How far a claim moves the delivery's due time: past the attempt's timeout with room to record it, and within
 * the minute after which a message whose handling threw comes back (delivery-queue.ts), so that message finds the
 * delivery due again. If the Worker dies mid-attempt, a message that comes back after the claim has run out
 * attempts again; one that comes back sooner (the queue redelivers at once) changes nothing, and the sweep
 * (sweep.ts) queues the delivery once it is OVERDUE_AFTER_MS late (docs/ARCHITECTURE.md, Webhooks).
 */
const CLAIM_MS = ATTEMPT_TIMEOUT_MS + 15_000;

type Endpoint = typeof webhookEndpoints.$inferSelect;
type Delivery = typeof webhookDeliveries.$inferSelect;
type DisabledReason = 'gone' | 'failing';

/** What the queue should do with the delivery's message. */
export type DeliveryStep = { retryInSeconds: number } | { retryInSeconds?: undefined };

/** The secrets that sign now: the current one, and the previous one until its overlap window closes. */
async function signingSecrets(env: Env, endpoint: Endpoint, now: Date): Promise<string[]> {
  const secrets = [await decryptField(env, endpoint.secretEncrypted)];
  const previous = endpoint.previousSecretEncrypted;
  if (previous && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > now) {
    secrets.push(await decryptField(env, previous));
  }
  return secrets;
}

function disabling(db: Database, endpoint: Endpoint, reason: DisabledReason, now: Date): Change {
  return {
    // Last and conditional: if staff or another attempt disabled the endpoint first, no second entry or event.
    conditional: true,
    statements: [
      db
        .update(webhookEndpoints)
        .set({ enabled: false, disabledReason: reason, disabledAt: now, updatedAt: now })
        .where(and(eq(webhookEndpoints.id, endpoint.id), eq(webhookEndpoints.enabled, true))),
    ],
    audit: {
      action: 'webhook_endpoint.disable',
      targetType: 'webhook_endpoint',
      targetId: endpoint.id,
      changes: { enabled: { from: true, to: false }, disabled_reason: reason },
    },
    events: [
      {
        type: 'webhook_endpoint.disabled',
        aggregateType: 'webhook_endpoint',
        aggregateId: endpoint.id,
        payload: {
          id: endpoint.id,
          url: endpoint.url,
          reason,
          failing_since: (endpoint.failingSince ?? now).toISOString(),
        },
      },
    ],
  };
}

async function record(
  db: Database,
  caller: Caller,
  endpoint: Endpoint,
  delivery: Delivery,
  outcome: AttemptOutcome,
  now: Date,
): Promise<DeliveryStep> {
  const attempt = delivery.attemptCount + 1;
  const succeeded = outcome.status !== null && outcome.status >= 200 && outcome.status < 300;
  const failingFor = now.getTime() - (endpoint.failingSince ?? now).getTime();
  const disableFor: DisabledReason | undefined = succeeded
    ? undefined
    : outcome.status === 410
      ? 'gone'
      : failingFor >= FAILING_ENDPOINT_DISABLE_MS
        ? 'failing'
        : undefined;
  const retryIn =
    succeeded || disableFor
      ? undefined
      : retryDelaySeconds(attempt, outcome.retryAfterSeconds, Math.random());
  const finished = retryIn === undefined;

  const statements: BatchItem<'sqlite'>[] = [
    db.insert(webhookDeliveryAttempts).values({
      id: newId('wha'),
      deliveryId: delivery.id,
      attempt,
      attemptedAt: now,
      latencyMs: outcome.latencyMs,
      responseStatus: outcome.status,
      responseExcerpt: outcome.excerpt,
      error: outcome.error,
    }),
    db
      .update(webhookDeliveries)
      .set({
        attemptCount: attempt,
        status: succeeded ? 'succeeded' : finished ? 'failed' : 'pending',
        nextAttemptAt: finished ? null : new Date(now.getTime() + retryIn * 1000),
        completedAt: finished ? now : null,
      })
      .where(eq(webhookDeliveries.id, delivery.id)),
  ];
  if (succeeded && endpoint.failingSince) {
    statements.push(
      db.update(webhookEndpoints).set({ failingSince: null }).where(eq(webhookEndpoints.id, endpoint.id)),
    );
  }
  if (!succeeded && !endpoint.failingSince) {
    // Attempts of other deliveries may fail at the same moment: the first one's time stands.
    statements.push(
      db
        .update(webhookEndpoints)
        .set({ failingSince: sql`coalesce(${webhookEndpoints.failingSince}, ${now.getTime()})` })
        .where(eq(webhookEndpoints.id, endpoint.id)),
    );
  }
  if (disableFor) {
    const disable = disabling(db, endpoint, disableFor, now);
    await commit(db, caller, { ...disable, statements: [...statements, ...disable.statements] });
  } else {
    await commit(db, caller, { statements });
  }
  return finished ? {} : { retryInSeconds: retryIn };
}

/**
 * Claims the delivery's next attempt: moves its due time past the attempt, if the delivery is still as it was
 * read. A second message that read it at the same time claims nothing and leaves the attempt to the first.
 */
async function claimAttempt(db: Database, caller: Caller, delivery: Delivery, now: Date): Promise<boolean> {
  const [claimed] = await commit(db, caller, {
    statements: [
      db
        .update(webhookDeliveries)
        .set({ nextAttemptAt: new Date(now.getTime() + CLAIM_MS) })
        .where(
          and(
            eq(webhookDeliveries.id, delivery.id),
            eq(webhookDeliveries.status, 'pending'),
            eq(webhookDeliveries.attemptCount, delivery.attemptCount),
            delivery.nextAttemptAt
              ? eq(webhookDeliveries.nextAttemptAt, delivery.nextAttemptAt)
              : isNull(webhookDeliveries.nextAttemptAt),
          ),
        )
        .returning({ id: webhookDeliveries.id }),
    ],
  });
  return claimed.length > 0;
}

/** Attempts delivery `deliveryId` if it is pending and due; answers when its message should come back. */
export async function attemptDelivery(
  env: Env,
  caller: Caller,
  deliveryId: string,
  now = new Date(),
): Promise<DeliveryStep> {
  const db = createDb(env.DB);
  const row = await db
    .select({ delivery: webhookDeliveries, endpoint: webhookEndpoints })
    .from(webhookDeliveries)
    .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
    .where(eq(webhookDeliveries.id, deliveryId))
    .get();
  // Gone with its endpoint, already finished, or not due yet: another message has this delivery in hand.
  if (row?.delivery.status !== 'pending') return {};
  const { delivery, endpoint } = row;
  if ((delivery.nextAttemptAt?.getTime() ?? 0) > now.getTime() + DUE_TOLERANCE_MS) return {};
  if (!endpoint.enabled) {
    await commit(db, caller, {
      statements: [
        db
          .update(webhookDeliveries)
          .set({ status: 'canceled', nextAttemptAt: null, completedAt: now })
          .where(and(eq(webhookDeliveries.id, delivery.id), eq(webhookDeliveries.status, 'pending'))),
      ],
    });
    return {};
  }
  const headers = await signatureHeaders(
    delivery.eventId,
    now,
    delivery.payload,
    await signingSecrets(env, endpoint, now),
  );
  if (!(await claimAttempt(db, caller, delivery, now))) return {};
  const outcome = await sendAttempt(env.ENVIRONMENT, endpoint.url, headers, delivery.payload, now);
  return record(db, caller, endpoint, delivery, outcome, now);
}
