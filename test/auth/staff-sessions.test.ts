import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { sessions, staffUsers } from '../../src/db/schema';
import { createDb } from '../../src/lib/db';
import { startSession } from '../../src/modules/sessions/service';
import { bearer, call, post, problemOf } from '../helpers/http';
import { signedInStaff, type Tokens } from '../helpers/staff';

const db = () => createDb(env.DB);
const sessionOf = (staffId: string) =>
  db().select().from(sessions).where(eq(sessions.principalId, staffId)).get();
const refresh = (refresh_token: string) => post('/v1/auth/staff/refresh', { refresh_token });
const canReadAudit = async (tokens: Tokens) =>
  (await call('/v1/admin/audit-log', { headers: bearer(tokens.access_token) })).status;

describe('staff refresh', () => {
  it('rotates the refresh token within the same session, and a replay ends the session', async () => {
    const { staff, tokens } = await signedInStaff('owner');
    const res = await refresh(tokens.refresh_token);
    expect(res.status).toBe(200);
    const next = (await res.json()) as Tokens;
    expect(next).toStrictEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 900,
      refresh_token: expect.stringMatching(/^rt_/),
    });
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    expect(await canReadAudit(next)).toBe(200);

    const replay = await refresh(tokens.refresh_token);
    expect(replay.status).toBe(401);
    expect((await problemOf(replay)).code).toBe('refresh_token_reused');
    expect((await sessionOf(staff.id))?.revokedReason).toBe('reuse_detected');
    expect(await canReadAudit(next)).toBe(401);
  });

  it('refuses to refresh for a disabled member and ends the session', async () => {
    const { staff, tokens } = await signedInStaff('support');
    await db().update(staffUsers).set({ status: 'disabled' }).where(eq(staffUsers.id, staff.id));
    const res = await refresh(tokens.refresh_token);
    expect(res.status).toBe(401);
    expect((await problemOf(res)).code).toBe('invalid_refresh_token');
    expect((await sessionOf(staff.id))?.revokedAt).toBeInstanceOf(Date);
  });

  it('refuses a customer’s refresh token without consuming it', async () => {
    const customer = await startSession(db(), { principalType: 'customer', principalId: 'cus_test' });
    const res = await refresh(customer.refreshToken);
    expect(res.status).toBe(401);
    expect((await problemOf(res)).code).toBe('invalid_refresh_token');
    const row = await db().select().from(sessions).where(eq(sessions.id, customer.sessionId)).get();
    expect(row?.revokedAt).toBeNull();
  });
});

describe('staff logout', () => {
  it('ends the session: the access token and the refresh token stop working', async () => {
    const { staff, tokens } = await signedInStaff('read_only');
    expect(await canReadAudit(tokens)).toBe(200);
    const res = await post('/v1/auth/staff/logout', { refresh_token: tokens.refresh_token });
    expect(res.status).toBe(204);
    expect((await sessionOf(staff.id))?.revokedReason).toBe('logout');
    const after = await call('/v1/admin/audit-log', { headers: bearer(tokens.access_token) });
    expect(after.status).toBe(401);
    expect(after.headers.get('WWW-Authenticate')).toContain('error="invalid_token"');
    expect((await refresh(tokens.refresh_token)).status).toBe(401);
  });

  it('answers 204 for an unknown token too, revealing nothing', async () => {
    expect((await post('/v1/auth/staff/logout', { refresh_token: 'rt_unknown' })).status).toBe(204);
  });
});
