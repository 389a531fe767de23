/**
 * The shopper's own orders: a customer lists and reads theirs with their access token, a guest reads theirs with
 * the order token from checkout; anyone else (another customer, a wrong or missing token) gets the 404 of an
 * order that does not exist. Responses are never stored by caches.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { seedRegions } from '../helpers/catalog-fixtures';
import { registerCustomer, withAuth } from '../helpers/customers';
import { call, expectProblem } from '../helpers/http';
import { insertOrder, ORDER_ADDRESS, type PlacedFixture } from '../helpers/order-fixtures';

beforeAll(seedRegions);

const orderToken = (token: string) => ({ headers: { 'X-Order-Token': token } });

describe('a guest reading their order', () => {
  it('with the order token gets the whole order, never cached', async () => {
    const placed = await insertOrder({ discount: { id: 'disc_1', code: 'WELCOME', amount: 0 } });
    expect(placed.token).toMatch(/^ot_[\w-]{43}$/);

    const res = await call(`/v1/store/orders/${placed.order.id}`, orderToken(placed.token!));
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const [mug, teapot] = placed.lines;
    expect(await res.json()).toStrictEqual({
      id: placed.order.id,
      number: placed.order.number,
      status: 'paid',
      email: placed.order.email,
      currency: 'EUR',
      lines: [
        {
          id: mug!.id,
          variant_id: 'var_mug_blue',
          product_id: 'prod_mug',
          sku: mug!.sku,
          product_title: 'Mug',
          variant_title: 'Blue',
          options: { Color: 'Blue' },
          unit_price: 1000,
          quantity: 2,
          subtotal: 2000,
          discount_total: 0,
          tax_total: 319,
          total: 2000,
          fulfilled_quantity: 0,
        },
        {
          id: teapot!.id,
          variant_id: 'var_teapot',
          product_id: 'prod_teapot',
          sku: teapot!.sku,
          product_title: 'Teapot',
          variant_title: 'Default',
          options: {},
          unit_price: 2500,
          quantity: 1,
          subtotal: 2500,
          discount_total: 0,
          tax_total: 399,
          total: 2500,
          fulfilled_quantity: 0,
        },
      ],
      shipping_address: ORDER_ADDRESS,
      shipping_method: { id: 'so_standard', name: 'Standard', amount: 490 },
      discount: { code: 'WELCOME', amount: 0 },
      subtotal: 4500,
      discount_total: 0,
      shipping_total: 490,
      tax_total: 796,
      total: 4990,
      tax_inclusive: true,
      refunded_total: 0,
      fulfillments: [],
      created_at: placed.order.createdAt.toISOString(),
      updated_at: placed.order.updatedAt.toISOString(),
    });
  });

  it('stores the token as a hash and the address encrypted, never in clear', async () => {
    const placed = await insertOrder();
    const row = await env.DB.prepare(
      'SELECT token_hash, shipping_address_encrypted, shipping_country FROM orders WHERE id = ?',
    )
      .bind(placed.order.id)
      .first<{ token_hash: string; shipping_address_encrypted: string; shipping_country: string }>();
    expect(row?.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row?.token_hash).not.toContain(placed.token);
    expect(row?.shipping_address_encrypted).toMatch(/^v1\./);
    expect(row?.shipping_address_encrypted).not.toContain('Lovelace');
    expect(row?.shipping_country).toBe('DE');
  });

  it('without a token, with a wrong one, or with another order’s token: 404', async () => {
    const placed = await insertOrder();
    const other = await insertOrder();
    const path = `/v1/store/orders/${placed.order.id}`;
    await expectProblem(await call(path), 404, 'not_found');
    await expectProblem(await call(path, orderToken('ot_wrong')), 404, 'not_found');
    await expectProblem(await call(path, orderToken(other.token!)), 404, 'not_found');
    await expectProblem(
      await call(`/v1/store/orders/ord_missing`, orderToken(placed.token!)),
      404,
      'not_found',
    );
  });
});

describe('a customer reading their orders', () => {
  it('reads their own order with their access token; another customer gets 404', async () => {
    const ada = await registerCustomer();
    const bob = await registerCustomer();
    const placed = await insertOrder({ customerId: ada.id, email: ada.email });
    expect(placed.token).toBeNull();
    const path = `/v1/store/orders/${placed.order.id}`;

    const own = await call(path, withAuth(ada, 'GET'));
    expect(own.status).toBe(200);
    expect(((await own.json()) as { id: string }).id).toBe(placed.order.id);

    await expectProblem(await call(path, withAuth(bob, 'GET')), 404, 'not_found');
    // A guest order is not the customer's either, whoever's email it carries.
    const guest = await insertOrder({ email: bob.email });
    await expectProblem(
      await call(`/v1/store/orders/${guest.order.id}`, withAuth(bob, 'GET')),
      404,
      'not_found',
    );
  });

  it('with an invalid access token is told to sign in again (401), not given a 404', async () => {
    const placed = await insertOrder();
    const res = await call(`/v1/store/orders/${placed.order.id}`, {
      headers: { Authorization: 'Bearer not-a-token', 'X-Order-Token': placed.token! },
    });
    await expectProblem(res, 401, 'invalid_token');
  });

  it('lists only their own orders, newest first, page by page', async () => {
    const ada = await registerCustomer();
    const bob = await registerCustomer();
    const base = Date.now() - 60_000;
    const placed: PlacedFixture[] = [];
    for (let i = 0; i < 3; i++) {
      placed.push(
        await insertOrder({ customerId: ada.id, email: ada.email, createdAt: new Date(base + i * 1000) }),
      );
    }
    await insertOrder({ customerId: bob.id, email: bob.email });
    await insertOrder({ email: ada.email });

    const first = await call('/v1/store/orders?limit=2', withAuth(ada, 'GET'));
    expect(first.status).toBe(200);
    expect(first.headers.get('Cache-Control')).toBe('no-store');
    const page1 = (await first.json()) as { data: unknown[]; page: { limit: number; next_cursor: string } };
    const summary = (p: PlacedFixture) => ({
      id: p.order.id,
      number: p.order.number,
      status: 'paid',
      currency: 'EUR',
      total: 4990,
      item_count: 3,
      created_at: p.order.createdAt.toISOString(),
    });
    expect(page1).toStrictEqual({
      data: [summary(placed[2]!), summary(placed[1]!)],
      page: { limit: 2, next_cursor: expect.any(String) },
    });
    const second = await call(
      `/v1/store/orders?limit=2&cursor=${page1.page.next_cursor}`,
      withAuth(ada, 'GET'),
    );
    expect(await second.json()).toStrictEqual({
      data: [summary(placed[0]!)],
      page: { limit: 2, next_cursor: null },
    });
  });

  it('cannot list orders without signing in', async () => {
    await expectProblem(await call('/v1/store/orders'), 401, 'unauthenticated');
  });
});
