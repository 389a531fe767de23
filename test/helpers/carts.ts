/** Carts through HTTP (the real storefront API), as a guest with the cart token or as a signed-in customer. */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { expect, onTestFinished, vi } from 'vitest';
import { carts } from '../../src/db/schema';
import { createDb } from '../../src/lib/db';
import type { CartRow } from '../../src/modules/carts/access';
import type { CartView } from '../../src/modules/carts/schemas';
import { admin } from './admin-fixtures';
import { insertProductRow, type ProductFixture } from './catalog-fixtures';
import { bearer, type CallInit, call, jsonInit, randomIp } from './http';

export type Cart = CartView;

/** How a call reaches a cart: a guest's token, a customer's access token, or both (merge). */
export type CartCredentials = { token?: string | null; accessToken?: string };

export function cartHeaders(who: CartCredentials = {}): Record<string, string> {
  return {
    'CF-Connecting-IP': randomIp(),
    ...(who.token ? { 'X-Cart-Token': who.token } : {}),
    ...(who.accessToken ? bearer(who.accessToken) : {}),
  };
}

/** Calls a cart route (`path` under /v1/store) with `who`'s credentials; `body` is sent as JSON. */
export function cartCall(
  method: string,
  path: string,
  who: CartCredentials,
  body?: unknown,
  init: CallInit = {},
) {
  const headers = { ...cartHeaders(who), ...(init.headers as Record<string, string> | undefined) };
  return call(
    `/v1/store${path}`,
    body === undefined ? { ...init, method, headers } : { ...init, ...jsonInit(method, body, headers) },
  );
}

/** A new cart (a guest's unless `who` has an access token): its body and token. */
export async function createCart(
  body: Record<string, unknown> = { region: 'eu' },
  who: CartCredentials = {},
): Promise<{ cart: Cart; token: string | null }> {
  const res = await cartCall('POST', '/carts', who, body);
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as { cart: Cart; token: string | null };
}

/** A guest cart in `region`, with its credentials. */
export async function guestCart(region = 'eu') {
  const { cart, token } = await createCart({ region });
  return { cart, who: { token: token as string } };
}

/** Sends a cart call that must succeed with 200 and answers the cart. */
export async function cartOk(
  method: string,
  path: string,
  who: CartCredentials,
  body?: unknown,
): Promise<Cart> {
  const res = await cartCall(method, path, who, body);
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { cart: Cart }).cart;
}

export const addLine = (cartId: string, who: CartCredentials, variantId: string, quantity = 1) =>
  cartOk('POST', `/carts/${cartId}/line-items`, who, { variant_id: variantId, quantity });

export const patchCart = (cartId: string, who: CartCredentials, body: Record<string, unknown>) =>
  cartOk('PATCH', `/carts/${cartId}`, who, body);

export const getCart = (cartId: string, who: CartCredentials) => cartOk('GET', `/carts/${cartId}`, who);

/** Puts `onHand` units of each variant in stock through the admin API, so carts can hold them. */
export async function stockUp(variantIds: string[], onHand = 1000): Promise<void> {
  for (const id of variantIds) {
    const res = await admin('PUT', `/inventory/${id}`, { on_hand: onHand, reason: 'test stock' });
    expect(res.status, await res.clone().text()).toBe(200);
  }
}

/** A product inserted straight into D1 (catalog-fixtures) with every variant in stock. */
export async function stockedProduct(fixture: ProductFixture = {}, onHand = 1000) {
  const product = await insertProductRow(fixture);
  await stockUp(
    product.variants.map((v) => v.id),
    onHand,
  );
  return product;
}

/** The cart's row as D1 holds it now: what a service reads before it writes. */
export async function cartRow(cartId: string): Promise<CartRow> {
  const row = await createDb(env.DB).select().from(carts).where(eq(carts.id, cartId)).get();
  if (!row) throw new Error(`no cart ${cartId}`);
  return row;
}

/**
 * Holds the clock (Date only; timers and I/O run as usual) at `instant` until the test ends. Held at a cart's
 * `updated_at`, the next write lands in the very millisecond of the last one, as a request in another isolate can
 * (or one in the same isolate: the Workers clock moves only on I/O), every run.
 */
export function holdClockAt(instant: Date): void {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(instant);
  onTestFinished(() => {
    vi.useRealTimers();
  });
}
