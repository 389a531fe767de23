import { beforeAll, describe, expect, it } from 'vitest';
import { seedRegions } from '../helpers/catalog-fixtures';
import { bearer, call, problemOf } from '../helpers/http';
import { login, signedInStaff, type Tokens } from '../helpers/staff';

beforeAll(seedRegions);

const auth = (tokens: Tokens, method = 'GET') => ({
  method,
  headers: bearer(tokens.access_token),
});
type SessionList = {
  data: { id: string; current: boolean; user_agent: string | null; expires_at: string }[];
};

describe('staff: own sessions', () => {
  it('are listed with the current one marked and can be ended by their owner', async () => {
    const { staff, tokens } = await signedInStaff('catalog_manager');
    const second = (await (await login(staff.email)).json()) as Tokens;

    const res = await call('/v1/auth/staff/sessions', auth(tokens));
    expect(res.status).toBe(200);
    const list = (await res.json()) as SessionList;
    expect(list.data).toHaveLength(2);
    expect(list.data.filter((s) => s.current)).toHaveLength(1);
    const other = list.data.find((s) => !s.current) as SessionList['data'][number];

    expect((await call(`/v1/auth/staff/sessions/${other.id}`, auth(tokens, 'DELETE'))).status).toBe(204);
    expect((await call('/v1/admin/products', auth(second))).status).toBe(401);
    expect((await call('/v1/admin/products', auth(tokens))).status).toBe(200);
  });

  it('of someone else are not found and stay active', async () => {
    const owner = await signedInStaff('catalog_manager');
    const stranger = await signedInStaff('support');
    const [theirs] = (
      (await (await call('/v1/auth/staff/sessions', auth(owner.tokens))).json()) as SessionList
    ).data;
    const res = await call(`/v1/auth/staff/sessions/${theirs?.id}`, auth(stranger.tokens, 'DELETE'));
    expect(res.status).toBe(404);
    expect((await problemOf(res)).code).toBe('not_found');
    expect((await call('/v1/admin/products', auth(owner.tokens))).status).toBe(200);
  });

  it('need a staff token', async () => {
    const res = await call('/v1/auth/staff/sessions');
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe('Bearer realm="edgecart-admin"');
  });
});
