/**
 * Whatever a client sends, the answer is never a 5xx, and is a status its operation documents, with a body its
 * schema describes. Walks every operation in /openapi.json with hostile bodies, path parameters and query
 * strings, as an admin holding every permission (so requests get past
 * authorization and reach validation and the handlers); then every list with forged cursors (well-formed, of
 * the right sort, with a key of the wrong shape) and every free-text filter with JSON-path and FTS5
 * metacharacters, against a catalog that has rows for those filters to run on.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { issueSecretKey } from '../src/auth/secret-key';
import { toBase64Url } from '../src/lib/encoding';
import { PERMISSIONS } from '../src/lib/permissions';
import { insertSecretKey } from './helpers/admin';
import { insertProductRow, seedRegions } from './helpers/catalog-fixtures';
import { registerCustomer } from './helpers/customers';
import { call, randomIp } from './helpers/http';
import { responseViolations, type Document as ServedDocument } from './helpers/openapi-schema';
import { signedInStaff } from './helpers/staff';

type Parameter = { name: string; in: string; schema?: { type?: unknown; enum?: string[] } };
type Document = {
  paths: Record<
    string,
    Record<string, { requestBody?: unknown; parameters?: Parameter[]; responses: Record<string, unknown> }>
  >;
};

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
/** The signed-in shopper's own routes take a customer token instead of the admin key. */
let customerAuth: Record<string, string>;
const SHOPPER_PATHS = /^\/v1\/store\/(customers|orders)\b/;
/** Cart routes take a guest (no credential), so hostile input reaches their validation and handlers. */
let guestAuth: Record<string, string>;
/** The document as the schema checks read it. */
let served: ServedDocument;
let operations: {
  method: string;
  path: string;
  hasBody: boolean;
  query: Parameter[];
}[];
/** A variant that exists, for the lists under a variant (its reservations), so forged cursors reach the list. */
let variantId: string;

beforeAll(async () => {
  await seedRegions();
  const product = await insertProductRow({
    options: ['Color', 'Size\\'],
    variants: [{ options: { Color: 'Blue', 'Size\\': 'M"' }, prices: { USD: 1000, EUR: 1100 } }],
  });
  variantId = product.variants[0]?.id ?? '';
  auth = {
    Authorization: `Bearer ${(await issueSecretKey(env.DB, 'fuzz', PERMISSIONS)).key}`,
    'CF-Connecting-IP': `fuzz-${crypto.randomUUID()}`,
  };
  const shopper = await registerCustomer();
  customerAuth = { ...auth, Authorization: `Bearer ${shopper.tokens.access_token}` };
  guestAuth = { 'CF-Connecting-IP': auth['CF-Connecting-IP'] as string };
  const doc = (await (await call('/openapi.json')).json()) as Document;
  served = doc as unknown as ServedDocument;
  operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      hasBody: op.requestBody !== undefined,
      query: (op.parameters ?? []).filter((p) => p.in === 'query'),
    })),
  );
});

describe('hostile input never causes a server error', () => {
  it('across every documented operation', async () => {
    const failures: string[] = [];
    const undocumented = new Set<string>();
    const statuses: Record<number, number> = {};
    for (const op of operations) {
      const headers = op.path.startsWith('/v1/store/carts') ? guestAuth : auth;
      for (const value of PATH_VALUES) {
        const path = op.path.replace(/\{[^}]+\}/g, value);
        const attempts: RequestInit[] = op.hasBody
          ? BODIES.map((body) => ({
              method: op.method,
              body,
              headers: { ...headers, 'Content-Type': 'application/json' },
            }))
          : QUERIES.map(() => ({ method: op.method, headers }));
        for (const [i, init] of attempts.entries()) {
          const url = op.hasBody ? path : `${path}${QUERIES[i]}`;
          const res = await call(url, init);
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          if (res.status >= 500) failures.push(`${op.method} ${url} -> ${res.status}`);
          for (const violation of await responseViolations(served, op.method, op.path, res.clone())) {
            undocumented.add(violation);
          }
          await res.arrayBuffer();
        }
        if (!op.path.includes('{')) break;
      }
    }
    // The walk must get past authentication and into validation, or it proves nothing.
    expect(statuses[422]).toBeGreaterThan(100);
    expect(failures).toStrictEqual([]);
    expect([...undocumented]).toStrictEqual([]);
  }, 120_000);
});

/** The sorts of the lists without a `sort` parameter: each such list gets cursors of its own and the others. */
const INTERNAL_SORTS = ['id', 'code', 'handle', 'created_at_desc'];
/** Keys of every wrong arity and type, numbers no column or Date holds, and shapes that fit some sort. */
const FORGED_KEYS = [
  '[]',
  '[1]',
  '["x"]',
  '["x","y","z"]',
  '["x",1]',
  '[1,"x"]',
  '[null,"x"]',
  '[{},"x"]',
  '[true,"x"]',
  '[[1],"x"]',
  '[1.5,"x"]',
  '[1e308,"x"]',
  '[-1e308,"x"]',
  '[1e400,"x"]',
  '[9007199254740993,"x"]',
  '[8640000000000001,"x"]',
  '"x"',
  'null',
];
const cursorOf = (json: string) => toBase64Url(new TextEncoder().encode(json));
/** Cursors naming each of `sorts`, with every forged key, and two that are no payload at all. */
const cursorsFor = (sorts: string[]) =>
  [
    ...sorts.flatMap((sort) => FORGED_KEYS.map((key) => ({ sort, json: `{"sort":"${sort}","key":${key}}` }))),
    { sort: sorts[0], json: `{"sort":"${sorts[0]}"}` },
    { sort: sorts[0], json: '[]' },
  ].map(({ sort, json }) => ({ sort, cursor: cursorOf(json) }));

/** Characters with a meaning to SQLite JSON paths, FTS5 queries, LIKE or SQL strings, and awkward Unicode. */
const METACHARACTERS = [
  ...['\\', '"', "'", '$', '.', '[', ']', '*', '(', ')', '^', '%', '_', '-', '+', ':', '{', '#'],
  ...['NEAR', 'AND', 'OR', 'NOT', 'NEAR(a b)', '"a" *', '$."a"', 'a\\"b', '\u0000'],
  ...['ü', 'ǅ', '²', '𝟘', 'e\u0301', '😀', 'ß', '\u200b'],
];
/** Each one alone, and inside a Name:Value pair (an option filter whose name and value end with it). */
const HOSTILE_TEXT = METACHARACTERS.flatMap((m) => [m, `a${m}:b${m}`]);
/** Query parameters that hold free text and reach SQL; the rest are numbers, enums and cursors. */
const isFreeText = (p: Parameter) =>
  !['cursor', 'limit'].includes(p.name) && p.schema?.enum === undefined && p.schema?.type !== 'integer';

describe('hostile list queries never cause a server error', () => {
  async function expectNoServerErrors(urls: string[]) {
    const failures: string[] = [];
    const statuses: Record<number, number> = {};
    for (const url of urls) {
      const res = await call(url, { headers: SHOPPER_PATHS.test(url) ? customerAuth : auth });
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.status >= 500) failures.push(`${url} -> ${res.status}`);
      await res.arrayBuffer();
    }
    expect(failures).toStrictEqual([]);
    return statuses;
  }

  it('with forged cursors, in every list that takes one', async () => {
    const urls = operations
      .filter((op) => op.method === 'GET' && op.query.some((p) => p.name === 'cursor'))
      .flatMap((op) => {
        const sorts = op.query.find((p) => p.name === 'sort')?.schema?.enum;
        const search = op.query.some((p) => p.name === 'q') ? '&q=shirt' : '';
        return cursorsFor(sorts ?? INTERNAL_SORTS).map(
          ({ sort, cursor }) =>
            `${op.path.replace('{variant_id}', variantId)}?cursor=${cursor}${sorts ? `&sort=${sort}` : ''}${search}`,
        );
      });
    const statuses = await expectNoServerErrors(urls);
    // Cursors of the right sort and shape (e.g. ["x"] for an id sort) are answered; all others refused.
    expect(Object.keys(statuses).sort()).toStrictEqual(['200', '422']);
  }, 120_000);

  it('with JSON-path and FTS5 metacharacters in every free-text filter', async () => {
    const urls = operations
      .filter((op) => op.method === 'GET' && !op.path.includes('{'))
      .flatMap((op) =>
        op.query
          .filter(isFreeText)
          .flatMap((p) => HOSTILE_TEXT.map((text) => `${op.path}?${p.name}=${encodeURIComponent(text)}`)),
      );
    const statuses = await expectNoServerErrors(urls);
    expect(statuses[200]).toBeGreaterThan(100);
  }, 120_000);
});

describe('a wrong or missing credential is answered with a status the operation documents', () => {
  it('on every documented operation: none, a malformed one, a key without permissions, a shopper, a staff member', async () => {
    const staff = await signedInStaff('support');
    const credentials: Record<string, Record<string, string>> = {
      none: {},
      malformed: { Authorization: 'Bearer not-a-token' },
      'a key without permissions': { Authorization: `Bearer ${(await insertSecretKey([])).key}` },
      'a shopper': { Authorization: customerAuth.Authorization as string },
      'a support member': { Authorization: `Bearer ${staff.tokens.access_token}` },
      'a cart token': { 'X-Cart-Token': 'not-a-cart-token' },
      'an order token': { 'X-Order-Token': 'not-an-order-token' },
    };
    const undocumented: string[] = [];
    const statuses: Record<number, number> = {};
    for (const op of operations) {
      const path = op.path.replace(/\{[^}]+\}/g, 'x');
      for (const [name, headers] of Object.entries(credentials)) {
        const res = await call(path, {
          method: op.method,
          headers: { ...headers, 'CF-Connecting-IP': randomIp() },
          cf: { country: 'DE' },
        });
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        for (const violation of await responseViolations(served, op.method, op.path, res.clone())) {
          undocumented.push(`${violation} (${name})`);
        }
        await res.arrayBuffer();
      }
    }
    // The walk must meet the guards, or it proves nothing.
    expect(statuses[401]).toBeGreaterThan(100);
    expect(statuses[403]).toBeGreaterThan(50);
    expect(undocumented).toStrictEqual([]);
  });
});
