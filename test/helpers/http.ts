/** Requests through the real Worker (HTTP, never straight to D1): JSON, bearer tokens, problem+json. */
import { exports } from 'cloudflare:workers';
import { expect } from 'vitest';

export const ORIGIN = 'https://api.edgecart.test';

export type CallInit = RequestInit & { cf?: { country?: string } };

/** Sends a request through the real Worker entry (middleware, routing, bindings), as a client would. */
export function call(path: string, init: CallInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(`${ORIGIN}${path}`, init), init.cf ? { cf: init.cf } : undefined);
}

export function jsonInit(method: string, body: unknown, headers: Record<string, string> = {}): CallInit {
  return { method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...headers } };
}

/** The Authorization header for `token` (a secret key, a staff or customer access token, ...). */
export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/**
 * A client IP of its own for each call, so the per-IP limits on auth routes do not trip across a test file;
 * the rate-limit tests send a fixed one.
 */
export function randomIp(): string {
  const [a, b, c] = crypto.getRandomValues(new Uint8Array(3));
  return `10.${a}.${b}.${c}`;
}

/** POSTs `body` as JSON from a fresh client IP (unless `headers` name one). */
export function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return call(path, jsonInit('POST', body, { 'CF-Connecting-IP': randomIp(), ...headers }));
}

export async function problemOf(res: Response) {
  expect(res.headers.get('Content-Type')).toBe('application/problem+json');
  return (await res.json()) as {
    type: string;
    title: string;
    status: number;
    detail: string;
    code: string;
    request_id: string;
    errors?: { pointer: string; message: string }[];
  };
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  426: 'Upgrade Required',
  503: 'Service Unavailable',
};

/** Asserts a whole problem+json body. */
export async function expectProblem(
  res: Response,
  status: number,
  code: string,
  errors?: { pointer: string; message: unknown }[],
): Promise<void> {
  expect(res.status).toBe(status);
  expect(await problemOf(res)).toStrictEqual({
    type: `https://edgecart.dev/problems/${code}`,
    title: TITLES[status],
    status,
    detail: expect.any(String),
    code,
    request_id: res.headers.get('X-Request-Id'),
    ...(errors ? { errors } : {}),
  });
}
