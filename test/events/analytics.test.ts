/**
 * The analytics consumer: order events (synthetic until the orders module raises them) become daily sales rows per
 * region, country and currency, readable at GET /v1/admin/analytics/sales, and Analytics Engine data points.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { insertSecretKey } from '../helpers/admin';
import { deliverBatch, syntheticEnvelope } from '../helpers/events';
import { bearer, call, expectProblem } from '../helpers/http';
import { unique } from '../helpers/unique';

afterEach(() => vi.restoreAllMocks());

let reader: string;
beforeAll(async () => {
  reader = (await insertSecretKey(['orders:read'])).key;
});

const report = (query: string, token = reader) =>
  call(`/v1/admin/analytics/sales?${query}`, { headers: bearer(token) });

const at = (day: string) => ({ occurred_at: `${day}T10:00:00.000Z` });

function created(day: string, region: string, country: string, currency: string, total: number) {
  return syntheticEnvelope(
    'order.created',
    {
      id: unique('ord'),
      customer_id: null,
      email: 'buyer@example.com',
      locale: null,
      region,
      country,
      currency,
      subtotal: total,
      discount_total: 0,
      shipping_total: 0,
      tax_total: 0,
      total,
      items: [{ variant_id: 'var_1', sku: 'SKU', title: 'Thing', quantity: 1, unit_price: total, total }],
    },
    at(day),
  );
}

const money = (
  type: 'order.paid' | 'order.refunded' | 'order.canceled',
  day: string,
  region: string,
  country: string,
  amount: number,
) => {
  const facts = { id: unique('ord'), region, country, currency: 'EUR', amount };
  const payment_id = unique('pay');
  if (type === 'order.paid')
    return syntheticEnvelope(type, { ...facts, payment_id, via: 'checkout' }, at(day));
  if (type === 'order.canceled') {
    return syntheticEnvelope(type, { ...facts, number: 'EC-TEST', from: 'paid', to: 'canceled' }, at(day));
  }
  return syntheticEnvelope(
    type,
    {
      ...facts,
      payment_id,
      number: 'EC-TEST',
      from: 'fulfilled',
      to: 'partially_refunded',
      refunded_total: amount,
    },
    at(day),
  );
};

const row = (day: string, region: string, country: string, currency: string, totals: number[]) => {
  const [orders, ordered, paid, refunded] = totals as [number, number, number, number];
  return {
    day,
    region,
    country,
    currency,
    orders,
    ordered_amount: ordered,
    paid_amount: paid,
    refunded_amount: refunded,
    revenue: paid - refunded,
  };
};

describe('sales analytics', () => {
  it('aggregates orders and money per day, region, country and currency, and writes a data point per event', async () => {
    const points = vi.spyOn(env.ANALYTICS, 'writeDataPoint');
    const events = [
      created('2021-03-01', 'eu', 'DE', 'EUR', 5000),
      created('2021-03-01', 'eu', 'DE', 'EUR', 2500),
      created('2021-03-01', 'eu', 'FR', 'EUR', 1000),
      created('2021-03-02', 'us', 'US', 'USD', 9900),
      money('order.paid', '2021-03-01', 'eu', 'DE', 7500),
      money('order.refunded', '2021-03-02', 'eu', 'DE', 2500),
      // Paid, then canceled before shipping: the cancel gives the payment back, so it adds no revenue.
      money('order.paid', '2021-03-01', 'eu', 'FR', 1000),
      money('order.canceled', '2021-03-01', 'eu', 'FR', 1000),
    ];
    expect((await deliverBatch(events)).acked).toHaveLength(events.length);

    const res = await report('from=2021-03-01&to=2021-03-02');
    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual({
      data: [
        row('2021-03-01', 'eu', 'DE', 'EUR', [2, 7500, 7500, 0]),
        row('2021-03-01', 'eu', 'FR', 'EUR', [1, 1000, 1000, 1000]),
        row('2021-03-02', 'eu', 'DE', 'EUR', [0, 0, 0, 2500]),
        row('2021-03-02', 'us', 'US', 'USD', [1, 9900, 0, 0]),
      ],
      page: { limit: 20, next_cursor: null },
    });
    expect((await (await report('from=2021-03-01&to=2021-03-02&region=us')).json()) as unknown).toMatchObject(
      {
        data: [row('2021-03-02', 'us', 'US', 'USD', [1, 9900, 0, 0])],
      },
    );

    // Workers Analytics Engine is a no-op locally; this is what production would store (in any order: a batch's
    // messages are handled concurrently).
    const pointOf = (
      e: { type: string; data: { id: string; region: string; country: string; currency: string } },
      doubles: number[],
    ) => ({
      indexes: [e.data.region],
      blobs: [e.type, e.data.region, e.data.country, e.data.currency, e.data.id],
      doubles,
    });
    const written = points.mock.calls.map(([point]) => point);
    expect(written).toHaveLength(events.length);
    const expected = [
      [1, 5000, 0, 0],
      [1, 2500, 0, 0],
      [1, 1000, 0, 0],
      [1, 9900, 0, 0],
      [0, 0, 7500, 0],
      [0, 0, 0, 2500],
      [0, 0, 1000, 0],
      [0, 0, 0, 1000],
    ];
    expect(written).toEqual(
      expect.arrayContaining(events.map((e, i) => pointOf(e, expected[i] as number[]))),
    );
  });

  it('counts a refund the provider failed back into revenue, in its row and its data point', async () => {
    const points = vi.spyOn(env.ANALYTICS, 'writeDataPoint');
    const refunded = money('order.refunded', '2021-05-10', 'eu', 'AT', 2500);
    const failed = syntheticEnvelope(
      'order.refund_failed',
      {
        ...refunded.data,
        number: 'EC-TEST',
        from: 'refunded',
        to: 'fulfilled',
        reason: 'stripe refund failed (webhook)',
        refunded_total: 0,
      },
      at('2021-05-12'),
    );
    const events = [money('order.paid', '2021-05-10', 'eu', 'AT', 2500), refunded, failed];
    expect((await deliverBatch(events)).acked).toHaveLength(events.length);

    expect(await (await report('from=2021-05-10&to=2021-05-12')).json()).toStrictEqual({
      data: [
        row('2021-05-10', 'eu', 'AT', 'EUR', [0, 0, 2500, 2500]),
        row('2021-05-12', 'eu', 'AT', 'EUR', [0, 0, 0, -2500]),
      ],
      page: { limit: 20, next_cursor: null },
    });
    expect(points.mock.calls.map(([point]) => point)).toContainEqual({
      indexes: ['eu'],
      blobs: ['order.refund_failed', 'eu', 'AT', 'EUR', failed.data.id],
      doubles: [0, 0, 0, -2500],
    });
  });

  it('pages through the report in day, region, country and currency order', async () => {
    const countries = ['AT', 'BE', 'CH', 'DK', 'ES'];
    await deliverBatch(countries.map((country) => created('2021-04-01', 'eu', country, 'EUR', 100)));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await report(`from=2021-04-01&to=2021-04-01&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      const body = (await res.json()) as {
        data: { country: string }[];
        page: { next_cursor: string | null };
      };
      seen.push(...body.data.map((r) => r.country));
      cursor = body.page.next_cursor;
    } while (cursor);
    expect(seen).toStrictEqual(countries);
  });

  it('refuses impossible dates, reversed and over-long ranges with 422, and callers without orders:read with 403', async () => {
    await expectProblem(await report('from=2021-02-30&to=2021-03-01'), 422, 'validation_failed', [
      { pointer: '/query/from', message: expect.any(String) },
    ]);
    await expectProblem(await report('from=2021-03-02&to=2021-03-01'), 422, 'validation_failed', [
      { pointer: '/query/to', message: 'Must not be before `from`.' },
    ]);
    await expectProblem(await report('from=2020-01-01&to=2021-01-01'), 422, 'validation_failed', [
      { pointer: '/query/to', message: 'A report covers at most 366 days.' },
    ]);
    await expectProblem(await report('to=2021-01-01'), 422, 'validation_failed', [
      { pointer: '/query/from', message: expect.any(String) },
    ]);
    await expectProblem(await report('from=2021-01-01&to=2021-01-02&cursor=bogus'), 422, 'invalid_cursor', [
      { pointer: '/query/cursor', message: expect.any(String) },
    ]);
    const catalog = (await insertSecretKey(['catalog:read'])).key;
    const res = await report('from=2021-01-01&to=2021-01-02', catalog);
    expect(res.status).toBe(403);
  });
});
