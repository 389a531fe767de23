/**
 * Walks every admin operation in /openapi.json, so a route added later is covered without editing this file:
 * a principal holding every permission except the route's own is refused with 403 before anything is read or
 * written, and a principal holding only that permission is not refused for lack of it. Which permission each
 * route must declare is not decided here: permission-table.test.ts holds that, written out by hand.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import { createDb } from '../../src/lib/db';
import { signAccessToken } from '../../src/lib/jwt';
import { isPermission, PERMISSIONS } from '../../src/lib/permissions';
import { startSession } from '../../src/modules/sessions/service';
import { expectNoWrites, insertSecretKey } from '../helpers/admin';
import { bearer, call, jsonInit, problemOf } from '../helpers/http';
import { type AdminOperation, adminOperations, type OpenApiDocument } from '../helpers/permission-table';
import { signedInStaff } from '../helpers/staff';

/**
 * Every admin operation, read from the document the app serves (built in memory, no request needed), so each one
 * is its own test: a walk of every route in one test grew with the API until a busy machine timed it out.
 */
const OPERATIONS = adminOperations(
  (await (await createApp().request('/openapi.json', {}, env)).json()) as OpenApiDocument,
);
const EACH = OPERATIONS.map((op) => [`${op.method} ${op.path}`, op] as const);

/** The operation as a request: path parameters become placeholder ids, bodies are empty objects. */
function requestFor(op: AdminOperation, headers: Record<string, string>) {
  const path = op.path.replace(/\{[^}]+\}/g, 'placeholder_id');
  const init = ['POST', 'PUT', 'PATCH'].includes(op.method)
    ? jsonInit(op.method, {}, headers)
    : { method: op.method, headers };
  return () => call(path, init);
}

const allBut = (permission: string) => PERMISSIONS.filter((p) => p !== permission);

const forbidden = (permission: string) => ({
  type: 'https://edgecart.dev/problems/forbidden',
  title: 'Forbidden',
  status: 403,
  detail: `This action needs the "${permission}" permission.`,
  code: 'forbidden',
  request_id: expect.any(String),
});

/** Mints access tokens narrowed to given permissions in a real, MFA-verified owner session. */
async function ownerSession() {
  const { staff } = await signedInStaff('owner');
  const session = await createDb(env.DB).query.sessions.findFirst({
    where: (row, { eq }) => eq(row.principalId, staff.id),
  });
  if (!session) throw new Error('the owner has no session');
  return async (perms: string[]) =>
    (
      await signAccessToken(
        env,
        { sub: staff.id, typ: 'staff', sid: session.id, role: 'owner', perms },
        'edgecart:admin',
      )
    ).token;
}

describe('every admin route enforces its declared permission', () => {
  it('finds the admin routes in the document', () => {
    expect(OPERATIONS.length).toBeGreaterThan(5);
  });

  it.each(EACH)('%s declares a known permission', (_, op) => {
    expect(PERMISSIONS).toContain(op.permission);
  });

  it.each(EACH)(
    '%s refuses a secret key holding every other permission with 403, changing nothing',
    async (_, op) => {
      const key = await insertSecretKey(allBut(op.permission));
      const res = await expectNoWrites(requestFor(op, bearer(key.key)));
      expect(res.status).toBe(403);
      expect(await problemOf(res)).toStrictEqual(forbidden(op.permission));
    },
  );

  it.each(EACH)(
    '%s refuses a staff member holding every other permission with 403, changing nothing',
    async (_, op) => {
      const token = await (await ownerSession())(allBut(op.permission));
      const res = await expectNoWrites(requestFor(op, bearer(token)));
      expect(res.status).toBe(403);
      expect(await problemOf(res)).toStrictEqual(forbidden(op.permission));
    },
  );

  it.each(EACH)('%s does not refuse a key holding only its permission for lack of it', async (_, op) => {
    expect(isPermission(op.permission)).toBe(true);
    const key = await insertSecretKey(PERMISSIONS.filter((p) => p === op.permission));
    const res = await requestFor(op, bearer(key.key))();
    const body = (await res.json()) as { code?: string };
    expect(body.code).not.toBe('forbidden');
  });

  it.each(EACH)('%s refuses anonymous callers with 401, changing nothing', async (_, op) => {
    const res = await expectNoWrites(requestFor(op, {}));
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe('Bearer realm="edgecart-admin"');
  });

  it('refuses a staff token narrowed to api_keys:manage a key with more (escalation)', async () => {
    const token = await (await ownerSession())(['api_keys:manage']);
    const res = await expectNoWrites(() =>
      call(
        '/v1/admin/api-keys',
        jsonInit('POST', { kind: 'secret', name: 'x', permissions: ['catalog:write'] }, bearer(token)),
      ),
    );
    expect(res.status).toBe(403);
    expect((await problemOf(res)).code).toBe('permission_escalation');
  });

  it.each(EACH)('%s refuses customer tokens with 401, changing nothing', async (_, op) => {
    const session = await startSession(createDb(env.DB), {
      principalType: 'customer',
      principalId: 'cus_test',
    });
    const claims = { sub: 'cus_test', typ: 'customer' as const, sid: session.sessionId };
    const storeToken = (await signAccessToken(env, claims, 'edgecart:store')).token;
    // A customer token minted for the admin audience must fail too: the type is checked, not only the audience.
    const misdirected = (await signAccessToken(env, claims, 'edgecart:admin')).token;
    for (const token of [storeToken, misdirected]) {
      const res = await expectNoWrites(requestFor(op, bearer(token)));
      expect(res.status).toBe(401);
      expect((await problemOf(res)).code).toBe('invalid_token');
    }
  });
});
