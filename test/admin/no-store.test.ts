/**
 * Every response that carries a token or a secret is `Cache-Control: no-store`. The table below is written out
 * by hand, apart from the route declarations, so a route that loses its guard fails here; each row makes one
 * successful call of its route (with whatever setup that needs) and returns the response.
 */
import { describe, expect, it } from 'vitest';
import { insertSecretKey } from '../helpers/admin';
import { bearer, call, jsonInit, post } from '../helpers/http';
import {
  codeFor,
  insertStaffWithMfa,
  insertStaffWithPassword,
  login,
  PASSWORD,
  signedInStaff,
} from '../helpers/staff';

async function json<T>(res: Promise<Response>): Promise<T> {
  const response = await res;
  expect(response.status).toBeLessThan(300);
  return (await response.json()) as T;
}

/** The enrollment token of an owner without MFA, past the password step. */
async function enrollmentToken(): Promise<string> {
  const owner = await insertStaffWithPassword('owner');
  return (await json<{ enrollment_token: string }>(login(owner.email))).enrollment_token;
}

const SENSITIVE: { route: string; carries: string; send: () => Promise<Response> }[] = [
  {
    route: 'POST /v1/auth/staff/login',
    carries: 'access and refresh tokens',
    send: async () => login((await insertStaffWithPassword('support')).email),
  },
  {
    route: 'POST /v1/auth/staff/login',
    carries: 'an MFA challenge token',
    send: async () => login((await insertStaffWithMfa('admin')).staff.email),
  },
  {
    route: 'POST /v1/auth/staff/mfa/verify',
    carries: 'access and refresh tokens',
    send: async () => {
      const { staff, secret } = await insertStaffWithMfa('admin');
      const { mfa_token } = await json<{ mfa_token: string }>(login(staff.email));
      return post('/v1/auth/staff/mfa/verify', { mfa_token, code: await codeFor(secret) });
    },
  },
  {
    route: 'POST /v1/auth/staff/mfa/enrollment-token',
    carries: 'an enrollment token',
    send: async () => {
      const { tokens } = await signedInStaff('support');
      return post('/v1/auth/staff/mfa/enrollment-token', { password: PASSWORD }, bearer(tokens.access_token));
    },
  },
  {
    route: 'POST /v1/auth/staff/mfa/enrollment',
    carries: 'a TOTP secret',
    send: async () => post('/v1/auth/staff/mfa/enrollment', { enrollment_token: await enrollmentToken() }),
  },
  {
    route: 'POST /v1/auth/staff/mfa/enrollment/confirm',
    carries: 'tokens and recovery codes',
    send: async () => {
      const enrollment_token = await enrollmentToken();
      const { secret } = await json<{ secret: string }>(
        post('/v1/auth/staff/mfa/enrollment', { enrollment_token }),
      );
      return post('/v1/auth/staff/mfa/enrollment/confirm', { enrollment_token, code: await codeFor(secret) });
    },
  },
  {
    route: 'POST /v1/auth/staff/refresh',
    carries: 'access and refresh tokens',
    send: async () => {
      const { tokens } = await signedInStaff('support');
      return post('/v1/auth/staff/refresh', { refresh_token: tokens.refresh_token });
    },
  },
  {
    route: 'POST /v1/admin/api-keys',
    carries: 'a new secret key',
    send: async () => {
      const key = await insertSecretKey();
      return call(
        '/v1/admin/api-keys',
        jsonInit('POST', { kind: 'secret', name: 'ERP', permissions: ['catalog:read'] }, bearer(key.key)),
      );
    },
  },
  {
    route: 'POST /v1/admin/webhooks',
    carries: 'a webhook signing secret',
    send: async () => {
      const key = await insertSecretKey(['webhooks:manage']);
      return call(
        '/v1/admin/webhooks',
        jsonInit('POST', { url: 'https://hooks.example.com/x', events: ['*'] }, bearer(key.key)),
      );
    },
  },
  {
    route: 'POST /v1/admin/webhooks/{id}/rotate-secret',
    carries: 'a new webhook signing secret',
    send: async () => {
      const key = await insertSecretKey(['webhooks:manage']);
      const { id } = await json<{ id: string }>(
        call(
          '/v1/admin/webhooks',
          jsonInit('POST', { url: 'https://hooks.example.com/y', events: ['*'] }, bearer(key.key)),
        ),
      );
      return call(`/v1/admin/webhooks/${id}/rotate-secret`, { method: 'POST', headers: bearer(key.key) });
    },
  },
];

describe('responses that carry a token or a secret', () => {
  it.each(SENSITIVE)('$route ($carries) is no-store', async ({ send }) => {
    const res = await send();
    expect(res.status).toBeLessThan(300);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
  });
});
