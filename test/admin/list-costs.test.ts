/**
 * What an admin page costs in D1 rows read: a page showing the one row a filter matches reads as many rows after
 * 300 rows the filter does not match were written as before them, and a page after a cursor as many after 300
 * rows of the pages before it were written. The list's own statements are
 * measured (Server-Timing's `d1_rows_read` cannot count drizzle's selects: see src/lib/d1-meter.ts).
 * test/admin/list-plans.test.ts shows the plans for every filter; these measure the bill for some of them.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createDb } from '../../src/lib/db';
import { encodeCursor } from '../../src/lib/pagination';
import { listSales, SALES_SORT } from '../../src/modules/analytics/read';
import { listApiKeys } from '../../src/modules/api-keys/read';
import { type AuditFilters, listAuditLog } from '../../src/modules/audit/read';
import { listDeadLetters } from '../../src/modules/events/read';
import { listInvites } from '../../src/modules/staff/read';
import { listDeliveries } from '../../src/modules/webhooks/read';
import { insertSecretKey } from '../helpers/admin';
import { rowsReadBy } from '../helpers/query-plans';
import { unique } from '../helpers/unique';
import { createEndpoint } from '../helpers/webhooks';

const NOISE = 300;

/** Runs `sql` once for each of 300 numbers `i` (1..300), bound as the last parameter after `params`. */
function forEachNoiseRow(sql: string, ...params: unknown[]) {
  return env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${NOISE}) ${sql}`,
  )
    .bind(...params)
    .run();
}

const PAGE = { limit: 20, after: null };

/** 300 `order.created` dead letters, `dlq_<name>_<i>`, created at `from` + i ms. */
const deadLetterNoise = (name: string, from: number) =>
  forEachNoiseRow(
    `INSERT INTO dead_letters (id, message_id, event_id, event_type, envelope, failures, attempts, created_at)
     SELECT 'dlq_' || ? || '_' || i, ? || '-' || i, NULL, 'order.created', '{}', '[]', 1, ? + i FROM n`,
    name,
    name,
    from,
  );

/**
 * The ids a page lists and the rows D1 read for it, with the one matching row only, then after `noise()` wrote
 * 300 rows the filter does not match (older, or before it in the listing's order).
 */
type Page = { ids: string[]; rowsRead: number };

async function costs<T>(
  read: (d1: D1Database) => Promise<T>,
  idsOf: (page: T) => string[],
  noise: () => Promise<unknown>,
) {
  const page = async (): Promise<Page> => {
    const { result, rowsRead } = await rowsReadBy(read);
    return { ids: idsOf(result), rowsRead };
  };
  const alone = await page();
  await noise();
  return { alone, amidNoise: await page() };
}

/**
 * The page lists the same rows amid the noise, and reads at most one row more: the row past the end of its index
 * range, which the search looks at to know it has ended (the noise's, once there is noise beside the range).
 */
function expectSameCost(alone: Page, amidNoise: Page) {
  expect(amidNoise.ids).toStrictEqual(alone.ids);
  expect(amidNoise.rowsRead - alone.rowsRead).toBeLessThanOrEqual(1);
}

const ids = (rows: { id: string }[]) => rows.map((row) => row.id);
const dataIds = (page: { data: { id: string }[] }) => ids(page.data);

const LONG_AGO = Date.parse('2020-01-01T00:00:00Z');

/** An audit entry's who, what and on what, as the columns hold them. */
type AuditEntry = [
  actorType: string,
  actorId: string,
  action: string,
  targetType: string,
  targetId: string | null,
];

/** An audit-log page of `filters`: its one match, amid 300 older entries of `noise` the filters do not match. */
async function expectAuditPageReadsItsMatch(filters: AuditFilters, match: AuditEntry, noise: AuditEntry) {
  const id = `aud_${unique('match')}`;
  await env.DB.prepare(
    `INSERT INTO audit_log (id, actor_type, actor_id, action, target_type, target_id, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  )
    .bind(id, ...match, Date.now() + 60_000)
    .run();
  const run = unique('noise');
  const { alone, amidNoise } = await costs(
    (d1) => listAuditLog(d1, filters, PAGE),
    ids,
    () =>
      forEachNoiseRow(
        `INSERT INTO audit_log (id, actor_type, actor_id, action, target_type, target_id, created_at)
         SELECT 'aud_' || ? || '_' || i, ?, ?, ?, ?, ?, ? + i FROM n`,
        run,
        ...noise,
        LONG_AGO,
      ),
  );
  expect(alone.ids[0]).toBe(id);
  expectSameCost(alone, amidNoise);
}

describe('a filtered admin page reads in proportion to what it shows', () => {
  const onIdentityProvider: AuditEntry = [
    'customer',
    'cus_match',
    'staff.invite',
    'identity_provider',
    'idp_match',
  ];
  it.each([
    ['action=staff.invite', { action: 'staff.invite' }],
    ['actor_id=cus_match', { actorId: 'cus_match' }],
    ['target_id=idp_match', { targetId: 'idp_match' }],
  ] as const)('GET /v1/admin/audit-log?%s', (_query, filters) =>
    expectAuditPageReadsItsMatch(filters, onIdentityProvider, [
      'system',
      'noise',
      'product.update',
      'product',
      null,
    ]),
  );

  // A type names a large share of the log; the action beside it few entries. The page must search the action's
  // index, not walk every entry of the type until it has found a page of the action.
  it.each([
    ['action=staff.invite&actor_type=staff', { action: 'staff.invite', actorType: 'staff' }],
    ['action=staff.invite&target_type=staff_invite', { action: 'staff.invite', targetType: 'staff_invite' }],
  ] as const)('GET /v1/admin/audit-log?%s', (_query, filters) =>
    expectAuditPageReadsItsMatch(
      filters,
      ['staff', 'stf_match', 'staff.invite', 'staff_invite', 'inv_match'],
      ['staff', 'stf_noise', 'staff_invite.revoke', 'staff_invite', 'inv_noise'],
    ),
  );

  it('GET /v1/admin/events/dead-letters?event_type=', async () => {
    const type = 'plan.matched';
    await env.DB.prepare(
      `INSERT INTO dead_letters (id, message_id, event_id, event_type, envelope, failures, attempts, created_at)
       VALUES (?, ?, NULL, ?, '{}', '[]', 1, ?)`,
    )
      .bind('dlq_match', unique('msg'), type, Date.now())
      .run();
    const { alone, amidNoise } = await costs(
      (d1) => listDeadLetters(createDb(d1), { eventType: type }, PAGE),
      ids,
      () => deadLetterNoise('noise', LONG_AGO),
    );
    expect(alone.ids).toStrictEqual(['dlq_match']);
    expectSameCost(alone, amidNoise);
  });

  it('GET /v1/admin/api-keys?kind=publishable&include_revoked=true', async () => {
    await env.DB.prepare(
      `INSERT INTO api_keys (id, kind, name, secret_hash, created_at) VALUES ('key_match', 'publishable', 'm', ?, ?)`,
    )
      .bind(unique('hash'), LONG_AGO + 2 * NOISE)
      .run();
    const { alone, amidNoise } = await costs(
      (d1) => listApiKeys(d1, { kind: 'publishable', includeRevoked: true }, PAGE),
      ids,
      () =>
        forEachNoiseRow(
          `INSERT INTO api_keys (id, kind, name, secret_hash, created_at, revoked_at)
         SELECT 'key_noise_' || i, 'secret', 'n', 'noise-' || i, ? + i, ? FROM n`,
          LONG_AGO,
          LONG_AGO,
        ),
    );
    expect(alone.ids).toStrictEqual(['key_match']);
    expectSameCost(alone, amidNoise);
  });

  // Revoked keys are kept, and hidden unless include_revoked=true: a kind's page reads its unrevoked keys only.
  it('GET /v1/admin/api-keys?kind=publishable', async () => {
    const id = `key_${unique('live')}`;
    await env.DB.prepare(
      `INSERT INTO api_keys (id, kind, name, secret_hash, created_at) VALUES (?, 'publishable', 'live', ?, ?)`,
    )
      .bind(id, unique('hash'), Date.now())
      .run();
    const run = unique('revoked');
    const { alone, amidNoise } = await costs(
      (d1) => listApiKeys(d1, { kind: 'publishable', includeRevoked: false }, PAGE),
      ids,
      () =>
        forEachNoiseRow(
          `INSERT INTO api_keys (id, kind, name, secret_hash, created_at, revoked_at)
         SELECT 'key_' || ? || '_' || i, 'publishable', 'n', ? || '-' || i, ? + i, ? FROM n`,
          run,
          run,
          Date.now() - 10 * NOISE,
          Date.now(),
        ),
    );
    expect(alone.ids[0]).toBe(id);
    expectSameCost(alone, amidNoise);
  });

  // Expired invitations nobody answered are kept, among the open ones: a page of pending ones must not read them.
  it('GET /v1/admin/staff/invites?status=pending', async () => {
    const id = `inv_${unique('pending')}`;
    const now = Date.now();
    await env.DB.prepare(
      `INSERT INTO staff_invites (id, email, role, token_hash, invited_by, expires_at, created_at)
       VALUES (?, 'pending@example.com', 'support', ?, 'system', ?, ?)`,
    )
      .bind(id, unique('hash'), now + 3_600_000, now)
      .run();
    const run = unique('expired');
    const { alone, amidNoise } = await costs(
      (d1) => listInvites(d1, { status: 'pending' }, PAGE),
      ids,
      () =>
        forEachNoiseRow(
          `INSERT INTO staff_invites (id, email, role, token_hash, invited_by, expires_at, created_at)
         SELECT 'inv_' || ? || '_' || i, 'expired' || i || '@example.com', 'support', ? || '-' || i, 'system',
           ? + i + 3600000, ? + i FROM n`,
          run,
          run,
          LONG_AGO,
          LONG_AGO,
        ),
    );
    expect(alone.ids).toStrictEqual([id]);
    expectSameCost(alone, amidNoise);
  });

  it('GET /v1/admin/webhooks/{id}/deliveries?status=failed', async () => {
    const endpoint = await createEndpoint((await insertSecretKey()).key, {
      url: 'https://hooks.example.com/costs',
    });
    const insert = (values: string) =>
      `INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, origin, payload, status, created_at) ${values}`;
    await env.DB.prepare(
      insert(`VALUES ('whd_match', ?, 'evt_match', 'order.created', 'event', '{}', 'failed', ?)`),
    )
      .bind(endpoint.id, Date.now())
      .run();
    const { alone, amidNoise } = await costs(
      (d1) => listDeliveries(createDb(d1), endpoint.id, { limit: 20, status: 'failed' }),
      dataIds,
      () =>
        forEachNoiseRow(
          insert(
            `SELECT 'whd_noise_' || i, ?, 'evt_noise_' || i, 'order.created', 'event', '{}', 'pending', ? + i FROM n`,
          ),
          endpoint.id,
          LONG_AGO,
        ),
    );
    expect(alone.ids).toStrictEqual(['whd_match']);
    expectSameCost(alone, amidNoise);
  });
});

describe('a page after a cursor reads from the cursor, not the pages before it', () => {
  it('GET /v1/admin/events/dead-letters?cursor=', async () => {
    const cursorAt = Date.parse('2019-01-01T00:00:00Z');
    await env.DB.prepare(
      `INSERT INTO dead_letters (id, message_id, event_id, event_type, envelope, failures, attempts, created_at)
       VALUES ('dlq_older', ?, NULL, 'order.created', '{}', '[]', 1, ?)`,
    )
      .bind(unique('msg'), cursorAt - 1)
      .run();
    const page = { limit: 1, after: [cursorAt, 'dlq_z'] as [number, string] };
    // Rows of the pages before the cursor: newer than it.
    const { alone, amidNoise } = await costs(
      (d1) => listDeadLetters(createDb(d1), {}, page),
      ids,
      () => deadLetterNoise('newer', cursorAt),
    );
    expect(alone.ids[0]).toBe('dlq_older');
    expectSameCost(alone, amidNoise);
  });

  it('GET /v1/admin/analytics/sales?region=&cursor=', async () => {
    const region = 'cursor-test';
    await env.DB.prepare(
      `INSERT INTO sales_daily (day, region, country, currency) VALUES ('2000-12-15', ?, 'DE', 'EUR')`,
    )
      .bind(region)
      .run();
    const cursor = encodeCursor({ sort: SALES_SORT, key: ['2000-12-01', region, 'DE', 'EUR'] });
    const query = { from: '2000-01-01', to: '2000-12-31', region, limit: 20, cursor };
    // The region's rows of the pages before the cursor: on days before it.
    const { alone, amidNoise } = await costs(
      (d1) => listSales(createDb(d1), query),
      (rows) => rows.map((row) => `${row.day} ${row.country}`),
      () =>
        forEachNoiseRow(
          `INSERT INTO sales_daily (day, region, country, currency)
           SELECT date('2000-01-01', '+' || i || ' days'), ?, 'DE', 'EUR' FROM n`,
          region,
        ),
    );
    expect(alone.ids).toStrictEqual(['2000-12-15 DE']);
    expectSameCost(alone, amidNoise);
  });
});
