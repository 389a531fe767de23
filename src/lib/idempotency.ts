/**
 * Idempotency-Key (draft-ietf-httpapi-idempotency-key-header, with Stripe's semantics): a client that retries a
 * write with the same key gets the first answer again instead of a second effect.
 *
 * - A key lives per scope (the customer, the cart, the caller), so two clients can never collide or read each
 *   other's answers. The request it stands for is a SHA-256 of method, path and canonical JSON body.
 * - Before the work, the request claims the key: a row with status 0 (in progress) whose `expires_at` is a lock
 *   of IDEMPOTENCY_LOCK_MS. A concurrent request with the key gets 409 `idempotency_key_in_use`; a different
 *   request with it 422 `idempotency_key_reused`. If the Worker dies, the lock lapses and a retry claims the key.
 * - The service computes its response before it commits and hands it to `commit()`, which completes the row in
 *   the SAME batch as the change (status, body, kept IDEMPOTENCY_RETENTION_MS). So the record exists exactly
 *   when the change does: a retry after a committed write replays it (`Idempotent-Replayed: true`), a retry after
 *   a failure runs again. Refusals (4xx) commit nothing and store nothing: the key is released at once.
 * - The batch first checks the key was not taken over (`keyNotTakenOver`): a request that outlived its lock and
 *   lost the key to a retry fails whole instead of committing a second effect.
 * - Expired rows (lapsed locks and records past retention) are deleted by a cron job.
 */
import { and, eq, lte, ne, type SQL, sql } from 'drizzle-orm';
import { idempotencyRecords } from '../db/schema';
import { timingSafeEqualStrings } from './crypto';
import { constraintFailure, insertRowIf } from './d1-writes';
import type { Database } from './db';
import { AppError } from './errors';
import { sha256Hex } from './hash';

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';
/** How long a completed key replays its answer. */
export const IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000;
/**
 * How long a claim holds the key while its request runs: longer than any request takes (the slowest, checkout,
 * is bounded by the payment provider's timeout), short enough that a client retrying after a crashed Worker
 * waits about a minute.
 */
export const IDEMPOTENCY_LOCK_MS = 60_000;
/** Stripe's bound; long enough for a UUID, a ULID or a client's own composite key. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

const IN_PROGRESS = 0;
const KEY = /^[\x21-\x7E]+$/;

/** A request's hold on a key, from its claim until its commit completes the record. */
export type IdempotencyClaim = { scope: string; key: string; requestHash: string; claimId: string };

/** The response a completed key replays; written by commit() in the batch of the change. */
export type IdempotencyRecord = IdempotencyClaim & { status: number; body: string; expiresAt: Date };

export const idempotencyKeyInUse = () =>
  new AppError(
    409,
    'idempotency_key_in_use',
    'A request with this Idempotency-Key is still being processed; retry it shortly.',
    { headers: { 'Retry-After': '1' } },
  );

export const idempotencyKeyReused = () =>
  new AppError(
    422,
    'idempotency_key_reused',
    'This Idempotency-Key was used for a different request; use a new key for a new request.',
  );

export const idempotencyKeyRequired = () =>
  new AppError(
    400,
    'idempotency_key_required',
    'Send an Idempotency-Key header (e.g. a UUID) so the request can be retried safely.',
  );

/**
 * The key a request sent, or undefined. Accepts a bare token (as Stripe clients send it) or a structured-field
 * string (`"..."`, as the draft writes it): 1-255 visible ASCII characters.
 */
export function idempotencyKeyOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const value = /^"(.*)"$/.exec(header)?.[1] ?? header;
  if (value.length <= MAX_IDEMPOTENCY_KEY_LENGTH && KEY.test(value)) return value;
  throw new AppError(
    400,
    'invalid_idempotency_key',
    `An Idempotency-Key is 1-${MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters, e.g. a UUID.`,
  );
}

/** JSON with object keys sorted at every level, so key order and whitespace do not make two bodies differ. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** What makes two requests "the same": method, path with query, and the body (canonical when it is JSON). */
export function requestFingerprint(method: string, pathWithQuery: string, body: string): Promise<string> {
  let canonical = body;
  try {
    canonical = body === '' ? '' : canonicalJson(JSON.parse(body));
  } catch {
    // Not JSON: the request is refused by validation anyway; its raw text still identifies it.
  }
  return sha256Hex(`${method}\n${pathWithQuery}\n${canonical}`);
}

export type ClaimOutcome = { claimed: IdempotencyClaim } | { replay: { status: number; body: string } };

/**
 * Claims `key` for this request, or tells what to do instead: replay the completed answer, or refuse (409 while
 * another request holds it, 422 if it was used for another request). A row whose `expires_at` has passed (a
 * lapsed lock, a forgotten answer) is taken over in the same statement.
 */
export async function claimIdempotencyKey(
  db: Database,
  request: { scope: string; key: string; requestHash: string },
  now = Date.now(),
): Promise<ClaimOutcome> {
  // Two rounds: a row that lapses (and is swept) between the upsert and the read is claimed on the second.
  for (let round = 0; round < 2; round++) {
    const claimId = crypto.randomUUID();
    const taken = await db
      .insert(idempotencyRecords)
      .values({
        ...request,
        claimId,
        status: IN_PROGRESS,
        body: '',
        createdAt: new Date(now),
        expiresAt: new Date(now + IDEMPOTENCY_LOCK_MS),
      })
      .onConflictDoUpdate({
        target: [idempotencyRecords.scope, idempotencyRecords.key],
        set: {
          requestHash: sql`excluded.request_hash`,
          claimId: sql`excluded.claim_id`,
          status: IN_PROGRESS,
          body: '',
          createdAt: sql`excluded.created_at`,
          expiresAt: sql`excluded.expires_at`,
        },
        setWhere: lte(idempotencyRecords.expiresAt, new Date(now)),
      })
      .returning({ claimId: idempotencyRecords.claimId });
    if (taken[0]?.claimId === claimId) return { claimed: { ...request, claimId } };

    const existing = await db
      .select()
      .from(idempotencyRecords)
      .where(and(eq(idempotencyRecords.scope, request.scope), eq(idempotencyRecords.key, request.key)))
      .get();
    if (!existing) continue;
    if (!timingSafeEqualStrings(existing.requestHash, request.requestHash)) throw idempotencyKeyReused();
    if (existing.status === IN_PROGRESS) throw idempotencyKeyInUse();
    return { replay: { status: existing.status, body: existing.body } };
  }
  throw idempotencyKeyInUse();
}

/**
 * Frees the key if the request committed nothing (it failed, was refused, or its conditional change found the
 * work already done). A completed record is not touched: its status is no longer 0.
 */
export async function releaseIdempotencyClaim(db: Database, claim: IdempotencyClaim): Promise<void> {
  await db
    .delete(idempotencyRecords)
    .where(
      and(
        eq(idempotencyRecords.scope, claim.scope),
        eq(idempotencyRecords.key, claim.key),
        eq(idempotencyRecords.claimId, claim.claimId),
        eq(idempotencyRecords.status, IN_PROGRESS),
      ),
    );
}

/**
 * The record `commit()` completes for a claimed request: the response it is about to give. Undefined when the
 * request sent no key, so a service can always pass `idempotency: idempotencyRecord(claim, 201, view)`.
 */
export function idempotencyRecord(
  claim: IdempotencyClaim | undefined,
  status: number,
  body: unknown,
  now = Date.now(),
): IdempotencyRecord | undefined {
  if (!claim) return undefined;
  return {
    ...claim,
    status,
    body: body === null ? '' : JSON.stringify(body),
    expiresAt: new Date(now + IDEMPOTENCY_RETENTION_MS),
  };
}

/**
 * The first statement of a batch that completes `record`. It copies a row that holds the key under ANOTHER
 * claim onto itself: that collides on (scope, key) and fails the whole batch (isIdempotencyKeyConflict), which is
 * what must happen when a request outlived its lock and a retry took the key over. While the claim is still
 * this request's, or its lapsed row was swept, there is nothing to copy and nothing happens.
 */
export function keyNotTakenOver(db: Database, record: IdempotencyRecord) {
  return db.insert(idempotencyRecords).select(
    db
      .select()
      .from(idempotencyRecords)
      .where(
        and(
          eq(idempotencyRecords.scope, record.scope),
          eq(idempotencyRecords.key, record.key),
          ne(idempotencyRecords.claimId, record.claimId),
        ),
      ),
  );
}

/**
 * The last statement of a batch that completes `record`: the claim row becomes the answer to replay (or, if a
 * sweep deleted the lapsed claim meanwhile, the answer is inserted). Runs only where `condition` holds.
 */
export function completeRecord(db: Database, record: IdempotencyRecord, condition: SQL) {
  return insertRowIf(db, idempotencyRecords, record, condition).onConflictDoUpdate({
    target: [idempotencyRecords.scope, idempotencyRecords.key],
    set: {
      requestHash: sql`excluded.request_hash`,
      status: sql`excluded.status`,
      body: sql`excluded.body`,
      expiresAt: sql`excluded.expires_at`,
    },
    setWhere: sql`${idempotencyRecords.claimId} = excluded.claim_id`,
  });
}

/** Whether a failed batch collided with another request's claim on its key (see keyNotTakenOver). */
export function isIdempotencyKeyConflict(error: unknown): boolean {
  const failure = constraintFailure(error);
  return (
    failure?.kind === 'unique' && failure.columns === 'idempotency_records.scope, idempotency_records.key'
  );
}

/** Deletes up to `limit` rows whose time has passed (lapsed locks, answers past retention); returns how many. */
export async function deleteExpiredIdempotencyRecords(
  d1: D1Database,
  now: number,
  limit: number,
): Promise<number> {
  const result = await d1
    .prepare(
      `DELETE FROM idempotency_records WHERE rowid IN
       (SELECT rowid FROM idempotency_records WHERE expires_at <= ? LIMIT ?)`,
    )
    .bind(now, limit)
    .run();
  return result.meta.changes;
}
