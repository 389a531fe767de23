/**
 * Whatever a client sends, the answer is never a 5xx. Walks every operation in /openapi.json with hostile
 * bodies, path parameters and query strings, as an admin holding every permission (so requests get past
 * authorization and reach validation and the handlers).
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { issueSecretKey } from '../src/auth/secret-key';
import { PERMISSIONS } from '../src/lib/permissions';
import { seedRegions } from './helpers/catalog-fixtures';
import { call } from './helpers/http';

type Document = { paths: Record<string, Record<string, { requestBody?: unknown }>> };

const BODIES = [
  '',
  'null',
  '[]',
  '"text"',
  '42',
  '{"a":',
  '{"__proto__":{"x":1}}',
  JSON.stringify({ deep: Array(50).fill({ a: [1, { b: null }] }) }),
  JSON.stringify({ email: 'x'.repeat(5000), password: 1, id: 'prod_' }),
];
const PATH_VALUES = ['x', '..%2F..', '%00', 'prod_01ZZZZZZZZZZZZZZZZZZZZZZZZ', 'A'.repeat(300)];
const QUERIES = [
  '?limit=abc&cursor=%FF',
  '?region=&locale=&q=',
  '?sort[]=x&limit=1e400',
  '?option=:&price_min=-0',
];

let auth: Record<string, string>;
let operations: { method: string; path: string; hasBody: boolean }[];

beforeAll(async () => {
  await seedRegions();
  auth = {
    Authorization: `Bearer ${(await issueSecretKey(env.DB, 'fuzz', PERMISSIONS)).key}`,
    'CF-Connecting-IP': `fuzz-${crypto.randomUUID()}`,
  };
  const doc = (await (await call('/openapi.json')).json()) as Document;
  operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      hasBody: op.requestBody !== undefined,
    })),
  );
});

describe('hostile input never causes a server error', () => {
  it('across every documented operation', async () => {
    const failures: string[] = [];
    const statuses: Record<number, number> = {};
    for (const op of operations) {
      for (const value of PATH_VALUES) {
        const path = op.path.replace(/\{[^}]+\}/g, value);
        const attempts: RequestInit[] = op.hasBody
          ? BODIES.map((body) => ({
              method: op.method,
              body,
              headers: { ...auth, 'Content-Type': 'application/json' },
            }))
          : QUERIES.map(() => ({ method: op.method, headers: auth }));
        for (const [i, init] of attempts.entries()) {
          const url = op.hasBody ? path : `${path}${QUERIES[i]}`;
          const res = await call(url, init);
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          if (res.status >= 500) failures.push(`${op.method} ${url} -> ${res.status}`);
          await res.arrayBuffer();
        }
        if (!op.path.includes('{')) break;
      }
    }
    // The walk must get past authentication and into validation, or it proves nothing.
    expect(statuses[422]).toBeGreaterThan(100);
    expect(failures).toStrictEqual([]);
  }, 120_000);
});
