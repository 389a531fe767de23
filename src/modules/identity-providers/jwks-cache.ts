/**
 * Public keys of external OpenID issuers. Read from the isolate, then KV (shared by every isolate of a
 * location), then the issuer's JWKS URL with a timeout, through the outbound URL guard (a URL it refuses is
 * never fetched; a redirect is not followed). A token signed with a kid we do not know makes one forced
 * refetch (the issuer rotated its keys), at most once per REFETCH_COOLDOWN_MS per issuer.
 */
import type { JSONWebKeySet } from 'jose';
import { AppError } from '../../lib/errors';
import { KV_KEYS } from '../../lib/kv-keys';
import type { Logger } from '../../lib/logger';
import { guardedFetch, OutboundUrlRefused } from '../../lib/url-guard';

const KV_TTL_SECONDS = 3600;
const FETCH_TIMEOUT_MS = 3_000;
const REFETCH_COOLDOWN_MS = 30_000;

const memory = new Map<string, { jwks: JSONWebKeySet; fetchedAt: number }>();

const unavailable = () =>
  new AppError(
    503,
    'identity_provider_unavailable',
    'The sign-in provider could not be reached; try again shortly.',
    {
      headers: { 'Retry-After': '5' },
    },
  );

/** What a JWKS read needs from the request: storage, the environment the URL guard judges by, a logger. */
export type JwksContext = { kv: KVNamespace; environment: string | undefined; logger: Logger };

async function fetchJwks({ kv, environment, logger }: JwksContext, url: string): Promise<JSONWebKeySet> {
  let jwks: JSONWebKeySet;
  try {
    const res = await guardedFetch(url, environment, {
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      headers: { Accept: 'application/json' },
    });
    if (!res.ok) throw new Error(`status ${res.status}`);
    jwks = (await res.json()) as JSONWebKeySet;
    if (!Array.isArray(jwks.keys)) throw new Error('no keys');
  } catch (error) {
    // Refused by the guard: a misconfigured provider, which the operator must see; to the shopper it is the
    // same as an issuer that cannot be reached.
    if (error instanceof OutboundUrlRefused) {
      logger.warn('jwks url refused', { jwks_url: url, reason: error.reason });
    }
    throw unavailable();
  }
  memory.set(url, { jwks, fetchedAt: Date.now() });
  await kv.put(KV_KEYS.externalJwks(url), JSON.stringify(jwks), { expirationTtl: KV_TTL_SECONDS });
  return jwks;
}

export async function getJwks(ctx: JwksContext, url: string): Promise<JSONWebKeySet> {
  const { kv } = ctx;
  const cached = memory.get(url);
  if (cached && Date.now() - cached.fetchedAt < KV_TTL_SECONDS * 1000) return cached.jwks;
  const stored = await kv.get<JSONWebKeySet>(KV_KEYS.externalJwks(url), 'json');
  if (stored) {
    memory.set(url, { jwks: stored, fetchedAt: Date.now() });
    return stored;
  }
  return fetchJwks(ctx, url);
}

/** Fetches again unless this issuer was fetched moments ago; answers whether new keys were loaded. */
export async function refetchJwks(ctx: JwksContext, url: string): Promise<JSONWebKeySet | undefined> {
  const cached = memory.get(url);
  if (cached && Date.now() - cached.fetchedAt < REFETCH_COOLDOWN_MS) return undefined;
  return fetchJwks(ctx, url);
}
