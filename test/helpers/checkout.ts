/** Checkout through the storefront API: a cart made ready (lines, email, address) and its checkout call. */
import { expect } from 'vitest';
import { admin, rows } from './admin-fixtures';
import { addLine, type CartCredentials, cartCall, createCart, patchCart } from './carts';

export const SHIPPING_ADDRESS = {
  first_name: 'Ada',
  last_name: 'Lovelace',
  line1: 'Unter den Linden 1',
  city: 'Berlin',
  postal_code: '10117',
  country_code: 'DE',
};

/** The id of a seeded region by code. */
export async function regionId(code: string): Promise<string> {
  const [row] = await rows('SELECT id FROM regions WHERE code = ?', code);
  return row?.id as string;
}

/** A flat shipping option in the region (created through the admin API). */
export async function shippingOption(
  region: string,
  body: Record<string, unknown> = {},
): Promise<{ id: string }> {
  const res = await admin('POST', '/shipping-options', {
    region_id: await regionId(region),
    name: 'Standard',
    price_type: 'flat',
    amount: 490,
    ...body,
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as { id: string };
}

/**
 * A cart in `region` (a guest's, or the customer's when `accessToken` is given) holding `lines`, with an email
 * and a German shipping address: ready for checkout once its region has a shipping option.
 */
export async function readyCart(
  lines: { variantId: string; quantity?: number }[],
  options: { region?: string; accessToken?: string; email?: string } = {},
): Promise<{ cartId: string; who: CartCredentials }> {
  const credentials = options.accessToken ? { accessToken: options.accessToken } : {};
  const { cart, token } = await createCart({ region: options.region ?? 'eu' }, credentials);
  const who: CartCredentials = { ...credentials, ...(token ? { token } : {}) };
  for (const line of lines) await addLine(cart.id, who, line.variantId, line.quantity ?? 1);
  await patchCart(cart.id, who, {
    email: options.email ?? `shopper.${crypto.randomUUID().slice(0, 8)}@example.com`,
    shipping_address: SHIPPING_ADDRESS,
  });
  return { cartId: cart.id, who };
}

/** POST /v1/store/carts/{id}/checkout with `key` as Idempotency-Key (none when null). */
export function checkoutCall(
  cartId: string,
  who: CartCredentials,
  key: string | null,
  body?: Record<string, unknown>,
) {
  return cartCall('POST', `/carts/${cartId}/checkout`, who, body ?? {}, {
    headers: key === null ? {} : { 'Idempotency-Key': key },
  });
}

export type CheckoutBody = {
  order: {
    id: string;
    number: string;
    status: string;
    total: number;
    lines: { id: string; quantity: number }[];
  };
  order_token?: string;
  payment: { id: string; provider: string; status: string; client_secret: string | null } | null;
};
