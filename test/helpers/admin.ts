/** Straight to D1 (no HTTP): secret keys, staff rows and whole-database snapshots for admin tests. */
import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import { issueSecretKey } from '../../src/auth/secret-key';
import * as schema from '../../src/db/schema';
import { createDb } from '../../src/lib/db';
import { newId } from '../../src/lib/ids';
import { PERMISSIONS, type Permission } from '../../src/lib/permissions';
import { unique } from './unique';

/** A secret key holding exactly `permissions` (all of them by default), issued straight into D1. */
export async function insertSecretKey(permissions: readonly Permission[] = PERMISSIONS) {
  return issueSecretKey(env.DB, unique('test key'), permissions);
}

const IGNORED_TABLES = /^(_cf_|sqlite_|d1_migrations$|product_search_)/;

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

/** Runs `request` and shows it left D1 exactly as it was (API keys' last use aside, which every call records). */
export async function expectNoWrites(request: () => Promise<Response>): Promise<Response> {
  const withoutLastUse = (s: Record<string, unknown[]>) => ({
    ...s,
    api_keys: (s.api_keys ?? []).map((row) => ({ ...(row as object), last_used_at: null })),
  });
  const before = withoutLastUse(await snapshotD1());
  const res = await request();
  await res.clone().arrayBuffer();
  expect(withoutLastUse(await snapshotD1())).toStrictEqual(before);
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
