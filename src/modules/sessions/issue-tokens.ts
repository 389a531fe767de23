import type { StaffRole } from '../../db/schema';
import type { RequestMeta } from '../../lib/caller';
import { createDb } from '../../lib/db';
import { signAccessToken } from '../../lib/jwt';
import type { TokenResponse } from './schemas';
import { startSession } from './service';

export type TokenSubject = { type: 'customer' | 'staff'; id: string; role?: StaffRole; perms?: string[] };

/**
 * An access token plus refresh token for `principal`: in a new session (sign-in), or in `session`, one a refresh
 * rotated the token of or a sign-in started itself (startSessionWhile). Customers get store-audience tokens,
 * staff admin-audience ones, so neither can be replayed against the other surface.
 */
export async function issueTokens(
  env: Env,
  meta: RequestMeta,
  principal: TokenSubject,
  session?: { sessionId: string; refreshToken: string },
): Promise<TokenResponse> {
  const current =
    session ??
    (await startSession(createDb(env.DB), {
      principalType: principal.type,
      principalId: principal.id,
      userAgent: meta.userAgent,
    }));
  const { token, expiresIn } = await signAccessToken(
    env,
    {
      sub: principal.id,
      typ: principal.type,
      sid: current.sessionId,
      ...(principal.role ? { role: principal.role } : {}),
      ...(principal.perms ? { perms: principal.perms } : {}),
    },
    principal.type === 'staff' ? 'edgecart:admin' : 'edgecart:store',
  );
  return {
    access_token: token,
    token_type: 'Bearer',
    expires_in: expiresIn,
    refresh_token: current.refreshToken,
  };
}
