/**
 * Every answer of a shop's ordinary day fits the OpenAPI document a client is generated from: a catalog, a guest's
 * and a customer's checkout, staff's reads and order actions. Each response is checked against its operation's
 * listed statuses and its JSON schema (test/helpers/openapi-schema.ts), and the walk reads every documented GET
 * that answers JSON, so a new read is checked as soon as it is documented.
 */
import { env } from 'cloudflare:workers';
import { desc, eq } from 'drizzle-orm';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { outboxEvents } from '../src/db/schema';
import { MAX_DELIVERY_ATTEMPTS } from '../src/jobs/event-queue';
import { createDb } from '../src/lib/db';
import {
  adminKey,
  createCategory,
  createCollection,
  productInput,
  regionInput,
} from './helpers/admin-fixtures';
import { stockedProduct } from './helpers/carts';
import { seedRegions } from './helpers/catalog-fixtures';
import { readyCart, SHIPPING_ADDRESS, shippingOption } from './helpers/checkout';
import {
  PASSWORD as CUSTOMER_PASSWORD,
  registerCustomer,
  type SignedIn,
  saveAddress,
  TEST_ADDRESS,
} from './helpers/customers';
import { deliverBatch, envelopesOf, eventuallyFound, syntheticEnvelope } from './helpers/events';
import { FakeStripe, signature, stripeEvent } from './helpers/fake-stripe';
import { bearer, type CallInit, call, jsonInit, randomIp } from './helpers/http';
import { type Document, requestViolations, responseViolations } from './helpers/openapi-schema';
import {
  codeFor,
  insertPendingInvite,
  insertStaffWithMfa,
  PASSWORD as STAFF_PASSWORD,
  signedInStaff,
} from './helpers/staff';
import { unique } from './helpers/unique';
import { FakeReceivers } from './helpers/webhooks';

let doc: Document;
const violations: string[] = [];
const visited = new Set<string>();
/** A step of the day that was refused: the walk then checks less than it says. */
const refused: string[] = [];

/**
 * Sends `init` to `url`, an instance of the documented `path`, checks the answer (and a body the API took), and
 * gives back its JSON.
 */
async function checked(path: string, url: string, init: CallInit = {}): Promise<Record<string, unknown>> {
  const method = init.method ?? 'GET';
  const res = await call(url, init);
  const body = await res.clone().text();
  if (res.status >= 400) refused.push(`${method} ${url} -> ${res.status} ${body.slice(0, 200)}`);
  violations.push(...(await responseViolations(doc, method, path, res)));
  if (typeof init.body === 'string' && res.status < 400) {
    violations.push(...requestViolations(doc, method, path, JSON.parse(init.body)));
  }
  visited.add(`${method} ${path}`);
  return body.startsWith('{') ? (JSON.parse(body) as Record<string, unknown>) : {};
}

const firstId = (page: Record<string, unknown>) =>
  (page.data as { id: string }[] | undefined)?.[0]?.id ?? 'none';

let staffAuth: Record<string, string>;
let keyAuth: Record<string, string>;
let shopper: SignedIn;

beforeAll(async () => {
  doc = (await (await call('/openapi.json')).json()) as Document;
  await seedRegions();
  await shippingOption('eu', { amount: 500 });
  keyAuth = bearer(await adminKey());
  staffAuth = bearer((await signedInStaff('owner')).tokens.access_token);
  shopper = await registerCustomer();
});

beforeEach(() => {
  violations.length = 0;
  refused.length = 0;
});

describe('responses fit the OpenAPI document', () => {
  it('along a day of a shop: catalog, checkouts, account, staff reads and order actions', async () => {
    const category = await createCategory();
    const collection = await createCollection();
    const product = await stockedProduct({
      categoryIds: [category.id],
      collectionIds: [collection.id],
      translations: { en: { title: 'Linen shirt', description: 'Cool' }, de: { title: 'Leinenhemd' } },
      options: ['Size'],
      variants: [{ options: { Size: 'M' }, weightGrams: 300, prices: { EUR: 1500, USD: 1600 } }],
      images: [{ url: 'https://img.example.com/shirt.jpg', alt: { en: 'A shirt' } }],
    });
    const variantId = product.variants[0]?.id as string;
    const address = await saveAddress(shopper);
    const customerAuth = bearer(shopper.tokens.access_token);

    // The storefront.
    const store = '?region=eu&locale=de';
    await checked('/', '/');
    await checked('/health', '/health');
    await checked('/ready', '/ready');
    await checked('/.well-known/jwks.json', '/.well-known/jwks.json');
    await checked('/v1/store/regions', `/v1/store/regions${store}`);
    await checked('/v1/store/products', `/v1/store/products${store}`);
    await checked('/v1/store/products', `/v1/store/products${store}&q=product`);
    await checked('/v1/store/products/{handle}', `/v1/store/products/${product.handle}${store}`);
    await checked(
      '/v1/store/products/{id}/availability',
      `/v1/store/products/${product.id}/availability${store}`,
    );
    await checked('/v1/store/stock-levels', `/v1/store/stock-levels${store}&product_ids=${product.id}`);
    await checked('/v1/store/categories', `/v1/store/categories${store}`);
    await checked('/v1/store/collections', `/v1/store/collections${store}`);

    // A guest's checkout.
    const guest = await readyCart([{ variantId, quantity: 2 }]);
    const guestHeaders = { 'X-Cart-Token': guest.who.token as string };
    const cartPath = `/v1/store/carts/${guest.cartId}`;
    await checked('/v1/store/carts/{id}', cartPath, { headers: guestHeaders });
    const options = await checked('/v1/store/carts/{id}/shipping-options', `${cartPath}/shipping-options`, {
      headers: guestHeaders,
    });
    await checked(
      '/v1/store/carts/{id}',
      cartPath,
      jsonInit('PATCH', { shipping_option_id: firstId(options) }, guestHeaders),
    );
    const placed = await checked(
      '/v1/store/carts/{id}/checkout',
      `${cartPath}/checkout`,
      jsonInit('POST', {}, { ...guestHeaders, 'Idempotency-Key': crypto.randomUUID() }),
    );
    const guestOrder = placed.order as { id: string };
    await checked('/v1/store/orders/{id}', `/v1/store/orders/${guestOrder.id}`, {
      headers: { 'X-Order-Token': placed.order_token as string },
    });

    // A customer's cart, account and order.
    const created = await checked(
      '/v1/store/carts',
      '/v1/store/carts',
      jsonInit('POST', { region: 'eu' }, customerAuth),
    );
    const own = `/v1/store/carts/${(created.cart as { id: string }).id}`;
    await checked(
      '/v1/store/carts/{id}/line-items',
      `${own}/line-items`,
      jsonInit('POST', { variant_id: variantId, quantity: 1 }, customerAuth),
    );
    await checked(
      '/v1/store/carts/{id}',
      own,
      jsonInit('PATCH', { email: shopper.email, shipping_address: SHIPPING_ADDRESS }, customerAuth),
    );
    await checked(
      '/v1/admin/discounts',
      '/v1/admin/discounts',
      jsonInit('POST', { code: 'DAY10', type: 'percentage', percentage_bps: 1000 }, keyAuth),
    );
    await checked('/v1/store/carts/{id}', own, jsonInit('PATCH', { discount_code: 'day10' }, customerAuth));
    const ownOrder = await checked(
      '/v1/store/carts/{id}/checkout',
      `${own}/checkout`,
      jsonInit('POST', {}, { ...customerAuth, 'Idempotency-Key': crypto.randomUUID() }),
    );
    await checked('/v1/store/orders', '/v1/store/orders', { headers: customerAuth });
    await checked('/v1/store/orders/{id}', `/v1/store/orders/${(ownOrder.order as { id: string }).id}`, {
      headers: customerAuth,
    });
    await checked('/v1/store/customers/me', '/v1/store/customers/me', { headers: customerAuth });
    await checked(
      '/v1/store/customers/me',
      '/v1/store/customers/me',
      jsonInit('PATCH', { first_name: 'Ada' }, customerAuth),
    );
    await checked('/v1/store/customers/me/export', '/v1/store/customers/me/export', {
      headers: customerAuth,
    });
    await checked('/v1/store/customers/me/sessions', '/v1/store/customers/me/sessions', {
      headers: customerAuth,
    });
    await checked('/v1/store/customers/me/addresses', '/v1/store/customers/me/addresses', {
      headers: customerAuth,
    });
    await checked(
      '/v1/store/customers/me/addresses/{id}',
      `/v1/store/customers/me/addresses/${address.id}`,
      jsonInit('PATCH', { city: 'Hamburg' }, customerAuth),
    );

    // Staff: writes that give the reads something to list, then every admin read.
    const admin = (path: string, url: string, method = 'GET', body?: unknown, auth = keyAuth) =>
      checked(
        path,
        `/v1/admin${url}`,
        body === undefined ? { method, headers: auth } : jsonInit(method, body, auth),
      );
    await admin('/v1/admin/discounts', '/discounts', 'POST', {
      code: 'WALK10',
      type: 'percentage',
      percentage_bps: 1000,
    });
    await admin('/v1/admin/webhooks', '/webhooks', 'POST', {
      url: new FakeReceivers().url(),
      events: ['*'],
    });
    await admin('/v1/admin/staff/invites', '/staff/invites', 'POST', {
      email: 'new.hire@example.com',
      role: 'support',
    });
    await admin('/v1/admin/api-keys', '/api-keys', 'POST', {
      kind: 'secret',
      name: 'ERP',
      permissions: ['catalog:read'],
    });
    const adminOrderPath = `/orders/${guestOrder.id}`;
    await admin('/v1/admin/orders/{id}/fulfillments', `${adminOrderPath}/fulfillments`, 'POST', {
      carrier: 'DHL',
      tracking_number: '00340434161094042557',
    });
    await admin('/v1/admin/orders/{id}/deliver', `${adminOrderPath}/deliver`, 'POST');
    await admin('/v1/admin/orders/{id}/refunds', `${adminOrderPath}/refunds`, 'POST', {
      amount: 100,
      reason: 'Scratched',
    });
    await admin(
      '/v1/admin/inventory/{variant_id}/adjustments',
      `/inventory/${variantId}/adjustments`,
      'POST',
      {
        delta: -1,
        reason: 'Damaged',
      },
    );
    await admin('/v1/admin/inventory/{variant_id}', `/inventory/${variantId}`, 'PATCH', {
      low_stock_threshold: 3,
    });

    // An event no consumer can read, dead-lettered as the queue handler does on its last attempt.
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const lost = syntheticEnvelope('order.teleported', { id: 'ord_walk' });
    await deliverBatch([lost], { attempts: MAX_DELIVERY_ATTEMPTS });
    await eventuallyFound('the dead letter', () =>
      env.DB.prepare('SELECT id FROM dead_letters WHERE event_id = ?').bind(lost.id).first(),
    );

    for (const list of [
      'regions',
      'products',
      'categories',
      'collections',
      'identity-providers',
      'shipping-options',
      'discounts',
      'webhooks',
      'orders',
      'staff',
      'events/dead-letters',
    ]) {
      const page = await admin(`/v1/admin/${list}`, `/${list}`);
      const byId = `/v1/admin/${list}/{id}`;
      if (doc.paths[byId]?.get) await admin(byId, `/${list}/${firstId(page)}`);
    }
    for (const [path, url] of [
      ['/v1/admin/api-keys', '/api-keys'],
      ['/v1/admin/audit-log', '/audit-log'],
      ['/v1/admin/staff/invites', '/staff/invites'],
      ['/v1/admin/analytics/sales', '/analytics/sales?from=2026-01-01&to=2026-12-31'],
      ['/v1/admin/inventory/{variant_id}', `/inventory/${variantId}`],
      ['/v1/admin/inventory/{variant_id}/reservations', `/inventory/${variantId}/reservations`],
    ] as const) {
      await admin(path, url);
    }
    const hooks = await admin('/v1/admin/webhooks', '/webhooks');
    await admin('/v1/admin/webhooks/{id}/test', `/webhooks/${firstId(hooks)}/test`, 'POST');
    await admin('/v1/admin/webhooks/{id}/deliveries', `/webhooks/${firstId(hooks)}/deliveries`);
    // Its deliveries go with it: none is left for the queue to send once this file's fake receivers are gone.
    await admin('/v1/admin/webhooks/{id}', `/webhooks/${firstId(hooks)}`, 'DELETE');
    await checked('/v1/auth/staff/sessions', '/v1/auth/staff/sessions', { headers: staffAuth });
    await checked('/v1/dev/mailbox', `/v1/dev/mailbox?to=${encodeURIComponent(shopper.email)}`);

    expect(refused).toStrictEqual([]);
    // Every documented GET that answers JSON was read (the live streams answer a socket or an event stream).
    const gets = Object.entries(doc.paths)
      .filter(([, ops]) => ops.get?.responses['200']?.content?.['application/json'])
      .map(([path]) => `GET ${path}`);
    expect(gets.filter((route) => !visited.has(route))).toStrictEqual([]);
    expect(violations).toStrictEqual([]);
  });

  it('along staff’s catalog and settings changes, and the sign-in flows', async () => {
    const admin = (path: string, url: string, method = 'GET', body?: unknown) =>
      checked(
        path,
        `/v1/admin${url}`,
        body === undefined ? { method, headers: keyAuth } : jsonInit(method, body, keyAuth),
      );
    const region = await admin('/v1/admin/regions', '/regions', 'POST', regionInput({ currency: 'EUR' }));
    await admin('/v1/admin/regions/{id}', `/regions/${region.id}`, 'PATCH', { name: 'Renamed' });
    const product = await admin('/v1/admin/products', '/products', 'POST', productInput());
    const productPath = `/products/${product.id}`;
    await admin('/v1/admin/products/{id}', productPath, 'PATCH', {
      translations: { de: { title: 'Testprodukt' }, en: null },
    });
    const variant = await admin('/v1/admin/products/{id}/variants', `${productPath}/variants`, 'POST', {
      sku: unique('SKU'),
      title: 'L',
      options: { Size: 'L' },
      prices: [{ currency: 'EUR', amount: 2499 }],
    });
    const variantPath = `/variants/${variant.id}`;
    await admin('/v1/admin/variants/{id}', variantPath, 'PATCH', { title: 'Large' });
    await admin('/v1/admin/variants/{id}/prices', `${variantPath}/prices`, 'PUT', {
      prices: [{ currency: 'EUR', amount: 2599 }],
    });
    await admin('/v1/admin/inventory/{variant_id}', `/inventory/${variant.id}`, 'PUT', {
      on_hand: 7,
      reason: 'Count',
    });
    await admin('/v1/admin/variants/{id}', variantPath, 'DELETE');
    await admin('/v1/admin/products/{id}/archive', `${productPath}/archive`, 'POST');
    await admin('/v1/admin/products/{id}', productPath, 'DELETE');
    const category = await admin('/v1/admin/categories', '/categories', 'POST', {
      handle: unique('category'),
      translations: { en: { name: 'Shoes' } },
    });
    await admin('/v1/admin/categories/{id}', `/categories/${category.id}`, 'PATCH', {
      translations: { de: { name: 'Schuhe' } },
    });
    await admin('/v1/admin/categories/{id}', `/categories/${category.id}`, 'DELETE');
    const collection = await admin('/v1/admin/collections', '/collections', 'POST', {
      handle: unique('collection'),
      translations: { en: { title: 'Sale' } },
    });
    await admin('/v1/admin/collections/{id}', `/collections/${collection.id}`, 'PATCH', {
      translations: { de: { title: 'Angebote' } },
    });
    await admin('/v1/admin/collections/{id}', `/collections/${collection.id}`, 'DELETE');
    const shipping = await admin('/v1/admin/shipping-options', '/shipping-options', 'POST', {
      region_id: region.id,
      name: 'Express',
      price_type: 'flat',
      amount: 990,
    });
    await admin('/v1/admin/shipping-options/{id}', `/shipping-options/${shipping.id}`, 'PATCH', {
      amount: 890,
    });
    await admin('/v1/admin/shipping-options/{id}', `/shipping-options/${shipping.id}`, 'DELETE');
    const discount = await admin('/v1/admin/discounts', '/discounts', 'POST', {
      code: unique('SPRING').replace(/[^A-Za-z0-9_-]/g, ''),
      type: 'fixed',
      amount: 500,
      currency: 'EUR',
    });
    await admin('/v1/admin/discounts/{id}', `/discounts/${discount.id}`, 'PATCH', { active: false });
    await admin('/v1/admin/discounts/{id}', `/discounts/${discount.id}`, 'DELETE');
    await admin('/v1/admin/regions/{id}', `/regions/${region.id}`, 'DELETE');
    const provider = await admin('/v1/admin/identity-providers', '/identity-providers', 'POST', {
      name: 'Example ID',
      issuer: 'https://id.example.com',
      client_id: 'edgecart',
      jwks_url: 'https://id.example.com/jwks',
    });
    await admin('/v1/admin/identity-providers/{id}', `/identity-providers/${provider.id}`, 'PATCH', {
      enabled: false,
    });
    await admin('/v1/admin/identity-providers/{id}', `/identity-providers/${provider.id}`, 'DELETE');
    const receivers = new FakeReceivers();
    const hook = await admin('/v1/admin/webhooks', '/webhooks', 'POST', {
      url: receivers.url(),
      events: ['*'],
    });
    const hookPath = `/webhooks/${hook.id}`;
    await admin('/v1/admin/webhooks/{id}', hookPath, 'PATCH', { description: 'ERP' });
    await admin('/v1/admin/webhooks/{id}/rotate-secret', `${hookPath}/rotate-secret`, 'POST');
    const ping = await admin('/v1/admin/webhooks/{id}/test', `${hookPath}/test`, 'POST');
    await admin(
      '/v1/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver',
      `${hookPath}/deliveries/${ping.id}/redeliver`,
      'POST',
    );
    const now = Date.now();
    await admin('/v1/admin/webhooks/{id}/replay', `${hookPath}/replay`, 'POST', {
      from: new Date(now - 3_600_000).toISOString(),
      to: new Date(now).toISOString(),
    });
    await admin('/v1/admin/webhooks/{id}', hookPath, 'DELETE');
    const key = await admin('/v1/admin/api-keys', '/api-keys', 'POST', {
      kind: 'secret',
      name: 'Reports',
      permissions: ['orders:read'],
    });
    await admin('/v1/admin/api-keys/{id}/revoke', `/api-keys/${key.id}/revoke`, 'POST');
    const invite = await admin('/v1/admin/staff/invites', '/staff/invites', 'POST', {
      email: `invitee.${unique('x')}@example.com`,
      role: 'support',
    });
    await admin('/v1/admin/staff/invites/{id}/revoke', `/staff/invites/${invite.id}/revoke`, 'POST');
    const { staff } = await insertStaffWithMfa('admin');
    await admin('/v1/admin/staff/{id}', `/staff/${staff.id}`, 'PATCH', { role: 'support' });
    await admin('/v1/admin/staff/{id}/mfa/reset', `/staff/${staff.id}/mfa/reset`, 'POST');

    // Sign-in flows: a staff member with MFA, and a shopper.
    const ip = { 'CF-Connecting-IP': randomIp() };
    const { staff: owner, secret: ownerSecret } = await insertStaffWithMfa('owner');
    const challenge = await checked(
      '/v1/auth/staff/login',
      '/v1/auth/staff/login',
      jsonInit('POST', { email: owner.email, password: STAFF_PASSWORD }, ip),
    );
    const staffTokens = await checked(
      '/v1/auth/staff/mfa/verify',
      '/v1/auth/staff/mfa/verify',
      jsonInit('POST', { mfa_token: challenge.mfa_token, code: await codeFor(ownerSecret) }, ip),
    );
    await checked(
      '/v1/auth/staff/refresh',
      '/v1/auth/staff/refresh',
      jsonInit('POST', { refresh_token: staffTokens.refresh_token }, ip),
    );
    await checked(
      '/v1/live/tickets',
      '/v1/live/tickets',
      jsonInit('POST', { topics: ['staff:feed'] }, bearer(staffTokens.access_token as string)),
    );
    const email = `walker.${unique('x')}@example.com`;
    await checked(
      '/v1/auth/customers/register',
      '/v1/auth/customers/register',
      jsonInit('POST', { email, password: CUSTOMER_PASSWORD }, ip),
    );
    const signedIn = await checked(
      '/v1/auth/customers/login',
      '/v1/auth/customers/login',
      jsonInit('POST', { email, password: CUSTOMER_PASSWORD }, ip),
    );
    const tokens = signedIn.tokens as { refresh_token: string; access_token: string };
    await checked(
      '/v1/auth/customers/refresh',
      '/v1/auth/customers/refresh',
      jsonInit('POST', { refresh_token: tokens.refresh_token }, ip),
    );
    await checked(
      '/v1/auth/customers/password-reset/request',
      '/v1/auth/customers/password-reset/request',
      jsonInit('POST', { email }, ip),
    );

    expect(refused).toStrictEqual([]);
    expect(violations).toStrictEqual([]);
  });

  it('along the rest of a cart, an account and a staff member’s life: edits, merges, cancels, sign-outs, erasure', async () => {
    const product = await stockedProduct({ variants: [{ prices: { EUR: 900 } }, { prices: { EUR: 1200 } }] });
    const [first, second] = product.variants.map((v) => v.id) as [string, string];
    const ip = { 'CF-Connecting-IP': randomIp() };

    // A guest's cart edited, then merged into a new customer's cart.
    const guest = await checked('/v1/store/carts', '/v1/store/carts', jsonInit('POST', { region: 'eu' }, ip));
    const cartPath = `/v1/store/carts/${(guest.cart as { id: string }).id}`;
    const cartToken = { ...ip, 'X-Cart-Token': guest.token as string };
    const added = await checked(
      '/v1/store/carts/{id}/line-items',
      `${cartPath}/line-items`,
      jsonInit('POST', { variant_id: first, quantity: 1 }, cartToken),
    );
    const lineId = (added.cart as { lines: { id: string }[] }).lines[0]?.id;
    await checked(
      '/v1/store/carts/{id}/line-items/{line_id}',
      `${cartPath}/line-items/${lineId}`,
      jsonInit('PATCH', { quantity: 2 }, cartToken),
    );
    await checked('/v1/store/carts/{id}/line-items/{line_id}', `${cartPath}/line-items/${lineId}`, {
      method: 'DELETE',
      headers: cartToken,
    });
    await checked(
      '/v1/store/carts/{id}/line-items',
      `${cartPath}/line-items`,
      jsonInit('POST', { variant_id: second, quantity: 1 }, cartToken),
    );
    const email = `${unique('life')}@example.com`;
    const signedUp = await checked(
      '/v1/auth/customers/register',
      '/v1/auth/customers/register',
      jsonInit('POST', { email, password: CUSTOMER_PASSWORD }, ip),
    );
    const tokens = signedUp.tokens as { access_token: string; refresh_token: string };
    const customer = { ...ip, ...bearer(tokens.access_token) };
    await checked('/v1/store/carts/{id}/merge', `${cartPath}/merge`, {
      method: 'POST',
      headers: { ...customer, 'X-Cart-Token': guest.token as string },
    });

    // The account: addresses and sessions, then its erasure.
    await checked(
      '/v1/store/customers/me/addresses',
      '/v1/store/customers/me/addresses',
      jsonInit('POST', TEST_ADDRESS, customer),
    );
    const addresses = await checked('/v1/store/customers/me/addresses', '/v1/store/customers/me/addresses', {
      headers: customer,
    });
    await checked(
      '/v1/store/customers/me/addresses/{id}',
      `/v1/store/customers/me/addresses/${firstId(addresses)}`,
      {
        method: 'DELETE',
        headers: customer,
      },
    );
    const other = await checked(
      '/v1/auth/customers/login',
      '/v1/auth/customers/login',
      jsonInit('POST', { email, password: CUSTOMER_PASSWORD }, ip),
    );
    const otherTokens = other.tokens as { access_token: string };
    const sessions = await checked('/v1/store/customers/me/sessions', '/v1/store/customers/me/sessions', {
      headers: customer,
    });
    const ended = (sessions.data as { id: string; current: boolean }[]).find((x) => !x.current)?.id;
    await checked('/v1/store/customers/me/sessions/{id}', `/v1/store/customers/me/sessions/${ended}`, {
      method: 'DELETE',
      headers: customer,
    });
    await checked('/v1/auth/customers/logout', '/v1/auth/customers/logout', {
      method: 'POST',
      headers: { ...ip, ...bearer(otherTokens.access_token) },
    });
    await checked(
      '/v1/store/customers/me',
      '/v1/store/customers/me',
      jsonInit('DELETE', { password: CUSTOMER_PASSWORD }, customer),
    );

    // Staff: an order canceled, a dead letter replayed, an invitation accepted, MFA enrolled, a sign-out.
    const { cartId, who } = await readyCart([{ variantId: first, quantity: 1 }]);
    const placed = await checked(
      '/v1/store/carts/{id}/checkout',
      `/v1/store/carts/${cartId}/checkout`,
      jsonInit('POST', {}, { 'X-Cart-Token': who.token as string, 'Idempotency-Key': crypto.randomUUID() }),
    );
    await checked(
      '/v1/admin/orders/{id}/cancel',
      `/v1/admin/orders/${(placed.order as { id: string }).id}/cancel`,
      jsonInit('POST', { reason: 'Asked by the shopper' }, keyAuth),
    );
    // Its cancel event dead-lettered by a consumer that kept failing, so staff can replay it.
    const canceledId = (placed.order as { id: string }).id;
    const events = await createDb(env.DB)
      .select()
      .from(outboxEvents)
      .where(eq(outboxEvents.aggregateId, canceledId))
      .orderBy(desc(outboxEvents.occurredAt));
    const [canceled] = envelopesOf(events);
    const failing = {
      name: 'walk',
      handles: () => true,
      consume: () => Promise.reject(new Error('down')),
    };
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    await deliverBatch([canceled], { attempts: MAX_DELIVERY_ATTEMPTS, consumers: [failing] });
    const letter = await eventuallyFound('the dead letter', () =>
      env.DB.prepare('SELECT id FROM dead_letters WHERE event_id = ?')
        .bind(canceled?.id)
        .first<{ id: string }>(),
    );
    await checked(
      '/v1/admin/events/dead-letters/{id}/replay',
      `/v1/admin/events/dead-letters/${letter.id}/replay`,
      { method: 'POST', headers: keyAuth },
    );
    const { invite, token } = await insertPendingInvite('owner');
    await checked(
      '/v1/auth/staff/invites/accept',
      '/v1/auth/staff/invites/accept',
      jsonInit('POST', { token, name: 'Grace', password: STAFF_PASSWORD }, ip),
    );
    const enrolling = await checked(
      '/v1/auth/staff/login',
      '/v1/auth/staff/login',
      jsonInit('POST', { email: invite.email, password: STAFF_PASSWORD }, ip),
    );
    const started = await checked(
      '/v1/auth/staff/mfa/enrollment',
      '/v1/auth/staff/mfa/enrollment',
      jsonInit('POST', { enrollment_token: enrolling.enrollment_token }, ip),
    );
    const enrolled = await checked(
      '/v1/auth/staff/mfa/enrollment/confirm',
      '/v1/auth/staff/mfa/enrollment/confirm',
      jsonInit(
        'POST',
        { enrollment_token: enrolling.enrollment_token, code: await codeFor(started.secret as string) },
        ip,
      ),
    );
    const member = await signedInStaff('catalog_manager');
    await checked(
      '/v1/auth/staff/mfa/enrollment-token',
      '/v1/auth/staff/mfa/enrollment-token',
      jsonInit('POST', { password: STAFF_PASSWORD }, { ...ip, ...bearer(member.tokens.access_token) }),
    );
    const memberAuth = bearer(member.tokens.access_token);
    const memberSessions = await checked('/v1/auth/staff/sessions', '/v1/auth/staff/sessions', {
      headers: memberAuth,
    });
    await checked('/v1/auth/staff/sessions/{id}', `/v1/auth/staff/sessions/${firstId(memberSessions)}`, {
      method: 'DELETE',
      headers: memberAuth,
    });
    await checked(
      '/v1/auth/staff/logout',
      '/v1/auth/staff/logout',
      jsonInit('POST', { refresh_token: enrolled.refresh_token }, ip),
    );

    expect(refused).toStrictEqual([]);
    expect(violations).toStrictEqual([]);
  });

  it('along a Stripe checkout: paid in the browser, confirmed, reported by the webhook', async () => {
    const stripe = new FakeStripe();
    stripe.install();
    const product = await stockedProduct({ variants: [{ prices: { EUR: 2000 } }] });
    const { cartId, who } = await readyCart([{ variantId: product.variants[0]?.id as string }]);
    const placed = await checked(
      '/v1/store/carts/{id}/checkout',
      `/v1/store/carts/${cartId}/checkout`,
      jsonInit(
        'POST',
        { provider: 'stripe' },
        { 'X-Cart-Token': who.token as string, 'Idempotency-Key': crypto.randomUUID() },
      ),
    );
    const intentId = [...stripe.intents.keys()][0] as string;
    stripe.confirm(intentId);
    await checked(
      '/v1/store/orders/{id}/confirm-payment',
      `/v1/store/orders/${(placed.order as { id: string }).id}/confirm-payment`,
      { method: 'POST', headers: { 'X-Order-Token': placed.order_token as string } },
    );
    const event = stripeEvent('payment_intent.amount_capturable_updated', stripe.intents.get(intentId));
    const payload = JSON.stringify(event);
    await checked('/v1/hooks/stripe', '/v1/hooks/stripe', {
      method: 'POST',
      body: payload,
      headers: { 'Content-Type': 'application/json', 'Stripe-Signature': await signature(payload) },
    });

    expect(refused).toStrictEqual([]);
    expect(violations).toStrictEqual([]);
  });
});
