/** Customer fixtures through HTTP (the real API), each from its own client IP so limits stay per test. */
import { expect } from 'vitest';
import { bearer, call, jsonInit, post, randomIp } from './http';
import { uniqueEmail } from './unique';

export const PASSWORD = 'correct horse battery staple';

export type Tokens = { access_token: string; refresh_token: string; token_type: string; expires_in: number };
/** `requestId` names the sign-up's events (its verification mail: `mailSentAfter(requestId)`). */
export type SignedIn = { id: string; email: string; tokens: Tokens; ip: string; requestId: string };

export async function registerCustomer(extra: Record<string, unknown> = {}): Promise<SignedIn> {
  const email = uniqueEmail();
  const ip = randomIp();
  const res = await post(
    '/v1/auth/customers/register',
    { email, password: PASSWORD, ...extra },
    { 'CF-Connecting-IP': ip },
  );
  expect(res.status).toBe(201);
  const body = (await res.json()) as { customer: { id: string }; tokens: Tokens };
  return {
    id: body.customer.id,
    email,
    tokens: body.tokens,
    ip,
    requestId: res.headers.get('X-Request-Id') ?? '',
  };
}

/**
 * The texts of the mail "sent" to `email`, newest first, read through the dev-only mailbox endpoint. Mail leaves
 * from events: wait for the request that causes it first (`mailSentAfter` in ./events).
 */
export async function mailTo(email: string): Promise<string[]> {
  const res = await call(`/v1/dev/mailbox?to=${encodeURIComponent(email)}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: { text: string }[] }).data.map((m) => m.text);
}

/** The raw token a verification or reset mail carries. */
export const tokenIn = (text: string | undefined) => /Token: ([\w-]+)/.exec(text ?? '')?.[1] as string;

const OPENINGS = { verification: 'Welcome! Confirm your email', reset: 'Reset your password' };

/**
 * The token of the newest mail of one kind to `email`. Not simply the newest mail: a registration's welcome is
 * sent by the event consumer too, and may land in the same millisecond as a reset mail, or after it.
 */
export async function tokenMailed(email: string, kind: keyof typeof OPENINGS): Promise<string> {
  return tokenIn((await mailTo(email)).find((text) => text.startsWith(OPENINGS[kind])));
}

/** The problem body of a refused customer sign-in (a wrong password, a lock, a session the database refused). */
export const INVALID_CREDENTIALS = {
  type: 'https://edgecart.dev/problems/invalid_credentials',
  title: 'Unauthorized',
  status: 401,
  detail: 'The email or password is not right.',
  code: 'invalid_credentials',
  request_id: expect.any(String),
};

export async function signIn(email: string, password = PASSWORD): Promise<Response> {
  return post('/v1/auth/customers/login', { email, password });
}

export const TEST_ADDRESS = {
  first_name: 'Ada',
  last_name: 'Lovelace',
  line1: 'Unter den Linden 1',
  city: 'Berlin',
  postal_code: '10117',
  country_code: 'DE',
  phone: '+49 30 1234567',
};

/** A JSON request carrying the customer's access token. */
export function withAuth(who: SignedIn, method: string, body?: unknown) {
  return jsonInit(method, body, bearer(who.tokens.access_token));
}

export async function saveAddress(who: SignedIn, body: Record<string, unknown> = TEST_ADDRESS) {
  const res = await call('/v1/store/customers/me/addresses', withAuth(who, 'POST', body));
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string };
}
