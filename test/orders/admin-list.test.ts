/**
 * Staff's order list: newest first, filtered by status, customer, email and time, searched by order number or
 * the start of an email, paged by cursor, and the whole order with its history.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { insertSecretKey } from '../helpers/admin';
import { admin } from '../helpers/admin-fixtures';
import { seedRegions } from '../helpers/catalog-fixtures';
import { registerCustomer } from '../helpers/customers';
import { bearer, call, expectProblem } from '../helpers/http';
import { insertOrder, ORDER_ADDRESS, type PlacedFixture } from '../helpers/order-fixtures';
import { uniqueEmail } from '../helpers/unique';

type Page = { data: { id: string }[]; page: { limit: number; next_cursor: string | null } };

async function list(query: string): Promise<Page> {
  const res = await admin('GET', `/orders?${query}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as Page;
}

const ids = (page: Page) => page.data.map((o) => o.id);

/** Orders placed a second apart from `base`, so newest-first order is certain. */
let base: number;
let customerId: string;
let alice: PlacedFixture;
let aliceAgain: PlacedFixture;
let bob: PlacedFixture;
let pending: PlacedFixture;
let shipped: PlacedFixture;

beforeAll(async () => {
  await seedRegions();
  // Far in the past, so orders other files' tests make never sort between these.
  base = Date.UTC(2020, 0, 1);
  customerId = (await registerCustomer()).id;
  const at = (i: number) => new Date(base + i * 1000);
  const aliceEmail = `alice.${uniqueEmail()}`;
  alice = await insertOrder({ email: aliceEmail, customerId, createdAt: at(0) });
  bob = await insertOrder({ email: `bob.${uniqueEmail()}`, createdAt: at(1) });
  pending = await insertOrder({ status: 'pending_payment', createdAt: at(2) });
  shipped = await insertOrder({ status: 'fulfilled', createdAt: at(3) });
  aliceAgain = await insertOrder({ email: aliceEmail, customerId, createdAt: at(4) });
});

const inRange = () =>
  `created_from=${new Date(base).toISOString()}&created_before=${new Date(base + 5000).toISOString()}`;

describe('GET /v1/admin/orders', () => {
  it('lists newest first with summaries, page by page', async () => {
    const first = await list(`${inRange()}&limit=2`);
    expect(first).toStrictEqual({
      data: [
        {
          id: aliceAgain.order.id,
          number: aliceAgain.order.number,
          status: 'paid',
          currency: 'EUR',
          total: 4990,
          item_count: 3,
          created_at: aliceAgain.order.createdAt.toISOString(),
          email: aliceAgain.order.email,
          customer_id: customerId,
        },
        {
          id: shipped.order.id,
          number: shipped.order.number,
          status: 'fulfilled',
          currency: 'EUR',
          total: 4990,
          item_count: 3,
          created_at: shipped.order.createdAt.toISOString(),
          email: shipped.order.email,
          customer_id: null,
        },
      ],
      page: { limit: 2, next_cursor: expect.any(String) },
    });
    const second = await list(`${inRange()}&limit=2&cursor=${first.page.next_cursor}`);
    expect(ids(second)).toStrictEqual([pending.order.id, bob.order.id]);
    const third = await list(`${inRange()}&limit=2&cursor=${second.page.next_cursor}`);
    expect(third).toMatchObject({ page: { next_cursor: null } });
    expect(ids(third)).toStrictEqual([alice.order.id]);
  });

  it('filters by status, customer, email and time', async () => {
    expect(ids(await list(`${inRange()}&status=pending_payment`))).toStrictEqual([pending.order.id]);
    expect(ids(await list(`${inRange()}&status=fulfilled`))).toStrictEqual([shipped.order.id]);
    expect(ids(await list(`customer_id=${customerId}`))).toStrictEqual([aliceAgain.order.id, alice.order.id]);
    expect(ids(await list(`email=${encodeURIComponent(bob.order.email.toUpperCase())}`))).toStrictEqual([
      bob.order.id,
    ]);
    const window = `created_from=${new Date(base + 1000).toISOString()}&created_before=${new Date(base + 3000).toISOString()}`;
    expect(ids(await list(window))).toStrictEqual([pending.order.id, bob.order.id]);
  });

  it('searches by order number (any case, dash optional) and by the start of an email', async () => {
    const number = bob.order.number;
    expect(ids(await list(`q=${number}`))).toStrictEqual([bob.order.id]);
    expect(ids(await list(`q=${number.toLowerCase().replace('-', '')}`))).toStrictEqual([bob.order.id]);
    expect(
      ids(await list(`q=${encodeURIComponent(alice.order.email.slice(0, 18).toUpperCase())}`)),
    ).toStrictEqual([aliceAgain.order.id, alice.order.id]);
    expect(ids(await list('q=nobody-has-this-prefix'))).toStrictEqual([]);
  });

  it('refuses a forged cursor, an unknown status and a malformed time with 422', async () => {
    const forged = btoa(JSON.stringify({ sort: 'created_at_desc', key: ['x', 1] }));
    await expectProblem(await admin('GET', `/orders?cursor=${forged}`), 422, 'invalid_cursor', [
      { pointer: '/query/cursor', message: 'Use the next_cursor of a previous page with the same sort.' },
    ]);
    expect((await admin('GET', '/orders?status=lost')).status).toBe(422);
    expect((await admin('GET', '/orders?created_from=yesterday')).status).toBe(422);
  });

  it('reads one order with its lines, fulfilments and transitions', async () => {
    const res = await admin('GET', `/orders/${alice.order.id}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      id: alice.order.id,
      customer_id: customerId,
      cart_id: alice.order.cartId,
      region_id: 'reg_test',
      shipping_address: ORDER_ADDRESS,
      fulfillments: [],
      transitions: [
        {
          id: alice.order.lastTransitionId,
          action: 'place',
          from: null,
          to: 'paid',
          actor_type: 'system',
          actor_id: 'checkout',
          reason: null,
          at: expect.any(String),
        },
      ],
    });
    expect(Object.keys(body).sort()).toStrictEqual(
      [
        'id',
        'number',
        'status',
        'email',
        'currency',
        'lines',
        'shipping_address',
        'shipping_method',
        'discount',
        'subtotal',
        'discount_total',
        'shipping_total',
        'tax_total',
        'total',
        'tax_inclusive',
        'refunded_total',
        'fulfillments',
        'created_at',
        'updated_at',
        'customer_id',
        'cart_id',
        'region_id',
        'transitions',
      ].sort(),
    );
  });

  it('needs orders:read', async () => {
    const key = await insertSecretKey(['catalog:read']);
    const res = await call('/v1/admin/orders', { headers: bearer(key.key) });
    expect(res.status).toBe(403);
  });
});
