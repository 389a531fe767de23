/** Straight to D1 (no HTTP): secret keys, staff rows and whole-database snapshots for admin tests. */
import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import { issueSecretKey } from '../../src/auth/secret-key';
import * as schema from '../../src/db/schema';
import type { AdminCaller } from '../../src/lib/caller';
import { createDb } from '../../src/lib/db';
import { newId } from '../../src/lib/ids';
import { PERMISSIONS, type Permission } from '../../src/lib/permissions';
import { unique } from './unique';

/** A secret key holding exactly `permissions` (all of them by default), issued straight into D1. */
export async function insertSecretKey(permissions: readonly Permission[] = PERMISSIONS) {
  return issueSecretKey(env.DB, unique('test key'), permissions);
}

/**
 * The caller a request made with key `id` is once its checks passed: for calling a service directly, so a test can
 * land another write between its checks and its batch.
 */
export const keyCaller = (id: string, permissions: readonly Permission[]): AdminCaller => ({
  actor: { type: 'secret_key', id },
  meta: { requestId: unique('req'), ip: null, userAgent: null, traceparent: null },
  principal: { type: 'secret_key', id, permissions: new Set(permissions) },
});

// FTS5's shadow tables change with its rows, which the snapshot holds already.
const IGNORED_TABLES =
  /^(_cf_|sqlite_|d1_migrations$|storefront_search(_prices|_dates|_titles)?_(data|idx|content|docsize|config)$)/;

/** Every row of every table, for showing that a refused request changed nothing. */
export async function snapshotD1(): Promise<Record<string, unknown[]>> {
  const tables = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
  ).all<{ name: string }>();
  const snapshot: Record<string, unknown[]> = {};
  for (const { name } of tables.results) {
    if (IGNORED_TABLES.test(name)) continue;
    const rows = await env.DB.prepare(`SELECT * FROM "${name}" ORDER BY rowid`).all();
    snapshot[name] = rows.results;
  }
  return snapshot;
}

/**
 * What the event backbone writes in the background after EARLIER requests, left out of a before/after comparison:
 * the outbox's publish stamp, the consumers' processed marks, and what the email and analytics consumers write (mail,
 * the mailed tokens, an invitation's token hash, sales rows). A request that writes none of its own outbox rows (which
 * are compared) cannot cause any of these.
 */
function withoutBackgroundWrites(s: Record<string, unknown[]>) {
  const rows = (table: string) => (s[table] ?? []) as Record<string, unknown>[];
  const { processed_events: _marks, dev_mailbox: _mail, sales_daily: _sales, ...rest } = s;
  return {
    ...rest,
    // A key's last use is recorded by every call.
    api_keys: rows('api_keys').map((row) => ({ ...row, last_used_at: null })),
    outbox_events: rows('outbox_events').map((row) => ({ ...row, published_at: null })),
    one_time_tokens: rows('one_time_tokens').filter(
      (row) => row.purpose !== 'email_verification' && row.purpose !== 'password_reset',
    ),
    staff_invites: rows('staff_invites').map((row) => ({ ...row, token_hash: null })),
  };
}

/** Runs `request` and shows it left D1 exactly as it was (but for what calls and consumers record in the background). */
export async function expectNoWrites(request: () => Promise<Response>): Promise<Response> {
  const before = withoutBackgroundWrites(await snapshotD1());
  const res = await request();
  await res.clone().arrayBuffer();
  expect(withoutBackgroundWrites(await snapshotD1())).toStrictEqual(before);
  return res;
}

/**
 * A staff row written straight to D1. The password hash is a placeholder that no password matches; tests that
 * log in use `insertStaffWithPassword` instead.
 */
export async function insertStaff(
  overrides: Partial<typeof schema.staffUsers.$inferInsert> = {},
): Promise<typeof schema.staffUsers.$inferSelect> {
  const [row] = await createDb(env.DB)
    .insert(schema.staffUsers)
    .values({
      id: newId('stf'),
      email: `${unique('staff')}@example.com`,
      name: 'Test Staff',
      role: 'support',
      passwordHash: 'pbkdf2-sha256$v1$1$AAAA$AAAA',
      ...overrides,
    })
    .returning();
  return row!;
}
