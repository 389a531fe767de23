/**
 * Live tickets: what lets a connection subscribe to topics that need credentials, without putting a long-lived
 * token in a URL (where proxies and browser history keep it). `POST /v1/live/tickets` checks the caller's
 * credentials once and answers a ticket: an EdDSA JWT signed with the access-token keys, of its own type and
 * audience (so it is never accepted as an access token, nor an access token as a ticket), naming the topics it
 * grants, valid for TICKET_TTL_SECONDS to connect or subscribe with, and carrying `until`: when the
 * subscriptions it opened end (the credential's own expiry, at most GRANT_MAX_MS away). A revoked session or key
 * therefore stops receiving within that bound, and the client fetches a new ticket and resubscribes with its
 * last seq, missing nothing.
 */
import { decodeProtectedHeader, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { AppError } from '../../lib/errors';
import { signingKeys } from '../../lib/jwt';
import { LiveTopic, type Topic } from '../../lib/live-messages';

export const TICKET_TTL_SECONDS = 60;
/** Subscriptions opened with a ticket end at most this long after it was issued. */
export const GRANT_MAX_MS = 60 * 60_000;

const TICKET_TYPE = 'live-ticket+jwt';
const AUDIENCE = 'edgecart:live';
const ALGORITHM = 'EdDSA';

/**
 * What a valid ticket grants: its topics, until when (epoch ms), who it was issued to (for logs), and whether it
 * was issued to staff or a secret key holding `catalog:read` (`catalog`): its product topics then stay open while
 * the product is not on sale.
 */
export type Grant = { topics: ReadonlySet<Topic>; until: number; holder: string; catalog: boolean };

export type IssuedTicket = { ticket: string; expiresAt: Date; until: Date };

export async function signTicket(
  env: Env,
  grant: { topics: readonly Topic[]; until: number; holder: string; catalog: boolean },
): Promise<IssuedTicket> {
  const { signer } = await signingKeys(env);
  const issuedAt = Math.floor(Date.now() / 1000);
  const claims = { topics: grant.topics, until: grant.until, ...(grant.catalog && { catalog: true }) };
  const ticket = await new SignJWT(claims)
    .setProtectedHeader({ alg: ALGORITHM, kid: signer.kid, typ: TICKET_TYPE })
    .setIssuer(env.PUBLIC_URL)
    .setAudience(AUDIENCE)
    .setSubject(grant.holder)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + TICKET_TTL_SECONDS)
    .setJti(crypto.randomUUID())
    .sign(signer.key);
  return {
    ticket,
    expiresAt: new Date((issuedAt + TICKET_TTL_SECONDS) * 1000),
    until: new Date(grant.until),
  };
}

export const invalidTicket = (detail: string) =>
  new AppError(401, 'invalid_ticket', `The live ticket is not valid: ${detail}. Get a new one.`);

function isTicketPayload(payload: JWTPayload): payload is JWTPayload & { topics: unknown[]; until: number } {
  return (
    Array.isArray(payload.topics) &&
    payload.topics.length > 0 &&
    typeof payload.until === 'number' &&
    typeof payload.sub === 'string'
  );
}

/** The grant of a ticket, or 401 `invalid_ticket` (malformed, forged, expired, or its grant already over). */
export async function verifyTicket(env: Env, ticket: string): Promise<Grant> {
  let kid: string | undefined;
  try {
    ({ kid } = decodeProtectedHeader(ticket));
  } catch {
    throw invalidTicket('malformed');
  }
  const key = kid ? (await signingKeys(env)).verifiers.get(kid) : undefined;
  if (!key) throw invalidTicket('unknown signing key');
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(ticket, key, {
      algorithms: [ALGORITHM],
      typ: TICKET_TYPE,
      issuer: env.PUBLIC_URL,
      audience: AUDIENCE,
      requiredClaims: ['sub', 'exp', 'iat'],
    }));
  } catch (error) {
    throw invalidTicket((error as { code?: string }).code === 'ERR_JWT_EXPIRED' ? 'expired' : 'malformed');
  }
  if (!isTicketPayload(payload)) throw invalidTicket('malformed');
  const topics = payload.topics.map((topic) => LiveTopic.safeParse(topic));
  if (topics.some((topic) => !topic.success)) throw invalidTicket('malformed');
  if (payload.until <= Date.now()) throw invalidTicket('its grant has ended');
  return {
    topics: new Set(topics.flatMap((topic) => (topic.success ? [topic.data] : []))),
    until: payload.until,
    holder: payload.sub as string,
    catalog: payload.catalog === true,
  };
}
