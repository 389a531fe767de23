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
