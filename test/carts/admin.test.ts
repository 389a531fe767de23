/**
 * Staff manage shipping options (`shipping:manage`) and discounts (`discounts:manage`): whole bodies, validation,
 * pages, permissions and the audit entry of every write.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { systemCaller } from '../../src/lib/caller';
import { commit } from '../../src/lib/commit';
import { createDb } from '../../src/lib/db';
import type { Permission } from '../../src/lib/permissions';
import { discountRedemptionStatement } from '../../src/modules/discounts/redemption';
import { insertSecretKey } from '../helpers/admin';
import { admin, createRegion, rows } from '../helpers/admin-fixtures';
import { bearer, call, expectProblem, jsonInit } from '../helpers/http';
import { unique } from '../helpers/unique';

const anyDate = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

let regionId: string;
let otherRegionId: string;

beforeAll(async () => {
  regionId = (await createRegion({ currency: 'EUR' })).id;
  otherRegionId = (await createRegion({ currency: 'USD' })).id;
});

const auditOf = (targetId: string) =>
  rows(
    'SELECT actor_type, action, target_type, changes FROM audit_log WHERE target_id = ? ORDER BY rowid',
    targetId,
  );

/** Every row of a table, to show a refused write changed nothing. */
const tableRows = (table: string) => rows(`SELECT * FROM ${table} ORDER BY rowid`);

async function withPermissions(permissions: Permission[]) {
  return bearer((await insertSecretKey(permissions)).key);
}

describe('/v1/admin/shipping-options', () => {
  it('creates a flat option: 201, the whole option, Location, an audit entry', async () => {
    const res = await admin('POST', '/shipping-options', {
      region_id: regionId,
      name: 'Standard',
      price_type: 'flat',
      amount: 495,
      free_over: 5000,
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { id: string };
    expect(body).toStrictEqual({
      id: expect.stringMatching(/^ship_[0-9A-Z]{26}$/),
      region_id: regionId,
      name: 'Standard',
      price_type: 'flat',
      amount: 495,
      weight_tiers: null,
      free_over: 5000,
      active: true,
      created_at: anyDate,
      updated_at: anyDate,
    });
    expect(res.headers.get('Location')).toBe(`/v1/admin/shipping-options/${body.id}`);
    const [entry] = await auditOf(body.id);
    expect([entry?.actor_type, entry?.action, entry?.target_type]).toStrictEqual([
      'secret_key',
      'shipping_option.create',
      'shipping_option',
    ]);
    expect(JSON.parse(entry?.changes as string).fields).toStrictEqual([
      'region_id',
      'name',
      'price_type',
      'amount',
      'free_over',
    ]);
    expect(await (await admin('GET', `/shipping-options/${body.id}`)).json()).toStrictEqual(body);
  });

  it('creates, changes and deletes a weight-tier option, auditing each write', async () => {
    const tiers = [
      { max_weight_grams: 1000, amount: 400 },
      { max_weight_grams: 5000, amount: 900 },
    ];
    const created = await admin('POST', '/shipping-options', {
      region_id: regionId,
      name: 'By weight',
      price_type: 'weight',
      weight_tiers: tiers,
    });
    const { id } = (await created.json()) as { id: string };
    const patched = await admin('PATCH', `/shipping-options/${id}`, {
      price_type: 'flat',
      amount: 300,
      weight_tiers: null,
      active: false,
    });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({
      price_type: 'flat',
      amount: 300,
      weight_tiers: null,
      active: false,
    });
    expect((await admin('DELETE', `/shipping-options/${id}`)).status).toBe(204);
    await expectProblem(await admin('GET', `/shipping-options/${id}`), 404, 'not_found');
    await expectProblem(await admin('DELETE', `/shipping-options/${id}`), 404, 'not_found');
    const entries = await auditOf(id);
    expect(entries.map((e) => e.action)).toStrictEqual([
      'shipping_option.create',
      'shipping_option.update',
      'shipping_option.delete',
    ]);
    expect(JSON.parse(entries[1]?.changes as string)).toStrictEqual({
      fields: ['price_type', 'amount', 'weight_tiers', 'active'],
      row: {
        price_type: { from: 'weight', to: 'flat' },
        amount: { from: null, to: 300 },
        weight_tiers: {
          from: JSON.stringify(tiers.map((t) => ({ maxGrams: t.max_weight_grams, amount: t.amount }))),
          to: null,
        },
        active: { from: 1, to: 0 },
      },
    });
  });

  it.each([
    [
      'a flat option without an amount',
      { price_type: 'flat' },
      [{ pointer: '/body/amount', message: 'A flat option needs an amount' }],
    ],
    [
      'a flat option with tiers',
      { price_type: 'flat', amount: 1, weight_tiers: [{ max_weight_grams: 1, amount: 1 }] },
      [{ pointer: '/body/weight_tiers', message: 'Only a weight option has tiers; send null' }],
    ],
    [
      'a weight option without tiers',
      { price_type: 'weight' },
      [{ pointer: '/body/weight_tiers', message: 'A weight option needs weight_tiers' }],
    ],
    [
      'tiers out of order',
      {
        price_type: 'weight',
        weight_tiers: [
          { max_weight_grams: 500, amount: 1 },
          { max_weight_grams: 500, amount: 2 },
        ],
      },
      [
        {
          pointer: '/body/weight_tiers/1/max_weight_grams',
          message: 'Tiers must ascend by max_weight_grams',
        },
      ],
    ],
    [
      'a negative amount',
      { price_type: 'flat', amount: -1 },
      [{ pointer: '/body/amount', message: expect.any(String) }],
    ],
    [
      'an unknown price type',
      { price_type: 'distance' },
      [{ pointer: '/body/price_type', message: expect.any(String) }],
    ],
  ])('refuses %s with 422, writing nothing', async (_, body, errors) => {
    const before = await tableRows('shipping_options');
    await expectProblem(
      await admin('POST', '/shipping-options', { region_id: regionId, name: 'X', ...body }),
      422,
      'validation_failed',
      errors,
    );
    expect(await tableRows('shipping_options')).toStrictEqual(before);
  });

  it('refuses an unknown region with 422 reference_not_found', async () => {
    await expectProblem(
      await admin('POST', '/shipping-options', {
        region_id: 'reg_none',
        name: 'X',
        price_type: 'flat',
        amount: 1,
      }),
      422,
      'reference_not_found',
      [{ pointer: '/body/region_id', message: 'There is no region reg_none' }],
    );
  });

  it('pages newest first and filters by region', async () => {
    const region = (await createRegion()).id;
    const ids: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      const res = await admin('POST', '/shipping-options', {
        region_id: region,
        name,
        price_type: 'flat',
        amount: 1,
      });
      ids.push(((await res.json()) as { id: string }).id);
    }
    const first = (await (await admin('GET', `/shipping-options?region_id=${region}&limit=2`)).json()) as {
      data: { id: string }[];
      page: { limit: number; next_cursor: string | null };
    };
    expect(first.data.map((o) => o.id)).toStrictEqual([ids[2], ids[1]]);
    const second = (await (
      await admin('GET', `/shipping-options?region_id=${region}&limit=2&cursor=${first.page.next_cursor}`)
    ).json()) as { data: { id: string }[]; page: { next_cursor: string | null } };
    expect([second.data.map((o) => o.id), second.page.next_cursor]).toStrictEqual([[ids[0]], null]);
  });

  it('needs shipping:manage: 403 for a key without it, on every route', async () => {
    const headers = await withPermissions(['discounts:manage', 'catalog:read']);
    const before = await tableRows('shipping_options');
    for (const [method, path] of [
      ['POST', '/shipping-options'],
      ['GET', '/shipping-options'],
      ['GET', '/shipping-options/ship_x'],
      ['PATCH', '/shipping-options/ship_x'],
      ['DELETE', '/shipping-options/ship_x'],
    ] as const) {
      const init =
        method === 'POST' || method === 'PATCH'
          ? jsonInit(method, { name: 'x' }, headers)
          : { method, headers };
      await expectProblem(await call(`/v1/admin${path}`, init), 403, 'forbidden');
    }
    expect(await tableRows('shipping_options')).toStrictEqual(before);
  });
});

describe('/v1/admin/discounts', () => {
  it('creates a discount (code upper-cased): 201, the whole discount, Location, an audit entry', async () => {
    const code = unique('summer').toLowerCase();
    const res = await admin('POST', '/discounts', {
      code,
      type: 'fixed',
      amount: 500,
      currency: 'EUR',
      minimum_subtotal: 2000,
      starts_at: '2026-01-01T00:00:00Z',
      ends_at: '2027-01-01T00:00:00+01:00',
      usage_limit: 100,
      usage_limit_per_customer: 1,
      region_ids: [regionId],
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { id: string };
    expect(body).toStrictEqual({
      id: expect.stringMatching(/^disc_[0-9A-Z]{26}$/),
      code: code.toUpperCase(),
      type: 'fixed',
      percentage_bps: null,
      amount: 500,
      currency: 'EUR',
      minimum_subtotal: 2000,
      starts_at: '2026-01-01T00:00:00.000Z',
      ends_at: '2026-12-31T23:00:00.000Z',
      usage_limit: 100,
      usage_limit_per_customer: 1,
      region_ids: [regionId],
      active: true,
      times_used: 0,
      created_at: anyDate,
      updated_at: anyDate,
    });
    expect(res.headers.get('Location')).toBe(`/v1/admin/discounts/${body.id}`);
    expect((await auditOf(body.id)).map((e) => [e.actor_type, e.action])).toStrictEqual([
      ['secret_key', 'discount.create'],
    ]);
    expect(await (await admin('GET', `/discounts/${body.id}`)).json()).toStrictEqual(body);
  });

  it('keeps codes unique whatever their case (409 code_taken)', async () => {
    const code = unique('ONCE');
    expect(
      (await admin('POST', '/discounts', { code, type: 'percentage', percentage_bps: 500 })).status,
    ).toBe(201);
    const before = await tableRows('discounts');
    await expectProblem(
      await admin('POST', '/discounts', {
        code: code.toLowerCase(),
        type: 'percentage',
        percentage_bps: 500,
      }),
      409,
      'code_taken',
    );
    expect(await tableRows('discounts')).toStrictEqual(before);
  });

  it.each([
    [
      'a percentage without percentage_bps',
      { type: 'percentage' },
      [{ pointer: '/body/percentage_bps', message: 'A percentage discount needs percentage_bps' }],
    ],
    [
      'a fixed discount without a currency',
      { type: 'fixed', amount: 100 },
      [{ pointer: '/body/currency', message: 'A fixed discount needs the currency of its amount' }],
    ],
    [
      'a minimum subtotal without a currency',
      { type: 'percentage', percentage_bps: 100, minimum_subtotal: 1000 },
      [{ pointer: '/body/currency', message: 'A minimum subtotal needs the currency it is counted in' }],
    ],
    [
      'an end before the start',
      {
        type: 'percentage',
        percentage_bps: 100,
        starts_at: '2026-06-01T00:00:00Z',
        ends_at: '2026-05-01T00:00:00Z',
      },
      [{ pointer: '/body/ends_at', message: 'Must be after starts_at' }],
    ],
    [
      'more than 100%',
      { type: 'percentage', percentage_bps: 10_001 },
      [{ pointer: '/body/percentage_bps', message: expect.any(String) }],
    ],
    [
      'a code with spaces',
      { code: 'TWO WORDS', type: 'percentage', percentage_bps: 1 },
      [{ pointer: '/body/code', message: expect.any(String) }],
    ],
    [
      'a repeated region',
      { type: 'percentage', percentage_bps: 1, region_ids: ['reg_a', 'reg_a'] },
      [{ pointer: '/body/region_ids/1', message: 'Duplicate value "reg_a"' }],
    ],
  ])('refuses %s with 422, writing nothing', async (_, body, errors) => {
    const before = await tableRows('discounts');
    await expectProblem(
      await admin('POST', '/discounts', { code: unique('X'), ...body }),
      422,
      'validation_failed',
      errors,
    );
    expect(await tableRows('discounts')).toStrictEqual(before);
  });

  it('refuses regions that do not exist with 422 reference_not_found', async () => {
    await expectProblem(
      await admin('POST', '/discounts', {
        code: unique('R'),
        type: 'percentage',
        percentage_bps: 100,
        region_ids: [regionId, 'reg_none'],
      }),
      422,
      'reference_not_found',
      [{ pointer: '/body/region_ids/1', message: 'There is no region reg_none' }],
    );
  });

  it('changes a discount, checking the terms it ends up with, and audits the change', async () => {
    const created = await admin('POST', '/discounts', {
      code: unique('CHG'),
      type: 'percentage',
      percentage_bps: 1000,
    });
    const { id } = (await created.json()) as { id: string };
    await expectProblem(
      await admin('PATCH', `/discounts/${id}`, { type: 'fixed' }),
      422,
      'validation_failed',
      [
        { pointer: '/body/amount', message: 'A fixed discount needs an amount' },
        { pointer: '/body/currency', message: 'A fixed discount needs the currency of its amount' },
        { pointer: '/body/percentage_bps', message: 'A fixed discount has no percentage; send null' },
      ],
    );
    const changed = await admin('PATCH', `/discounts/${id}`, {
      type: 'fixed',
      percentage_bps: null,
      amount: 250,
      currency: 'USD',
      region_ids: [otherRegionId],
    });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toMatchObject({
      type: 'fixed',
      amount: 250,
      currency: 'USD',
      region_ids: [otherRegionId],
    });
    const entries = await auditOf(id);
    expect(entries.map((e) => e.action)).toStrictEqual(['discount.create', 'discount.update']);
    expect(JSON.parse(entries[1]?.changes as string).row).toStrictEqual({
      type: { from: 'percentage', to: 'fixed' },
      percentage_bps: { from: 1000, to: null },
      amount: { from: null, to: 250 },
      currency_code: { from: null, to: 'USD' },
      region_ids: { from: null, to: JSON.stringify([otherRegionId]) },
    });
  });

  it('lists newest first with usage, finds by code in any case, and deletes only unused discounts', async () => {
    const used = (await (
      await admin('POST', '/discounts', { code: unique('USED'), type: 'percentage', percentage_bps: 100 })
    ).json()) as { id: string; code: string };
    const unused = (await (
      await admin('POST', '/discounts', { code: unique('UNUSED'), type: 'percentage', percentage_bps: 100 })
    ).json()) as { id: string; code: string };
    const db = createDb(env.DB);
    await commit(db, systemCaller('test', 'run'), {
      statements: [
        discountRedemptionStatement(db, {
          discountId: used.id,
          orderId: `ord_${crypto.randomUUID()}`,
          customerId: null,
          email: 'a@example.com',
          at: new Date(),
        }),
      ],
    });

    const page = (await (await admin('GET', '/discounts?limit=2')).json()) as {
      data: { id: string; times_used: number }[];
    };
    expect(page.data.map((d) => [d.id, d.times_used])).toStrictEqual([
      [unused.id, 0],
      [used.id, 1],
    ]);
    const found = (await (await admin('GET', `/discounts?code=${used.code.toLowerCase()}`)).json()) as {
      data: { id: string }[];
    };
    expect(found.data.map((d) => d.id)).toStrictEqual([used.id]);

    await expectProblem(await admin('DELETE', `/discounts/${used.id}`), 409, 'discount_in_use');
    expect((await admin('DELETE', `/discounts/${unused.id}`)).status).toBe(204);
    expect((await auditOf(unused.id)).map((e) => e.action)).toStrictEqual([
      'discount.create',
      'discount.delete',
    ]);
    expect((await auditOf(used.id)).map((e) => e.action)).toStrictEqual(['discount.create']);
  });

  it('needs discounts:manage: 403 for a key without it, on every route', async () => {
    const headers = await withPermissions(['shipping:manage', 'orders:read']);
    const before = await tableRows('discounts');
    for (const [method, path] of [
      ['POST', '/discounts'],
      ['GET', '/discounts'],
      ['GET', '/discounts/disc_x'],
      ['PATCH', '/discounts/disc_x'],
      ['DELETE', '/discounts/disc_x'],
    ] as const) {
      const init =
        method === 'POST' || method === 'PATCH'
          ? jsonInit(method, { active: false }, headers)
          : { method, headers };
      await expectProblem(await call(`/v1/admin${path}`, init), 403, 'forbidden');
    }
    expect(await tableRows('discounts')).toStrictEqual(before);
  });
});
