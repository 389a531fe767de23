/**
 * Who may follow which topic. Product topics are public: any connection may subscribe to an active product, and
 * staff or a secret key holding `catalog:read` (with a ticket) to any product, active or not.
 * The staff feed needs a staff member or secret key holding `orders:read`; an order's topic, its owner (the
 * customer who placed it, or the holder of its order token) or staff with `orders:read`. Those are decided when
 * a ticket is issued (`ticketGrant`); a subscription then only checks that a ticket it holds names the topic
 * (`subscriptionAccess`).
 */
import type { BearerPrincipal } from '../../auth/bearer-principal';
import { createDb } from '../../lib/db';
import { AppError } from '../../lib/errors';
import { type LiveErrorCode, type Topic, topicKind, topicSubject } from '../../lib/live-messages';
import type { Permission } from '../../lib/permissions';
import { proofOpensOrder } from '../orders/store-read';
import { GRANT_MAX_MS, type Grant } from './tickets';

/** The permission that opens the staff feed and any order's topic. */
export const STAFF_LIVE_PERMISSION: Permission = 'orders:read';
/** The permission whose tickets keep a product's topic open while the product is not on sale. */
export const CATALOG_LIVE_PERMISSION: Permission = 'catalog:read';

/** What a ticket request carries: a bearer credential (any surface's) and/or an order token. */
export type TicketRequester = { bearer: BearerPrincipal | null; orderToken: string | undefined };

const staffHolds = (bearer: BearerPrincipal | null, permission: Permission) =>
  bearer !== null && bearer.principal.type !== 'customer' && bearer.principal.permissions.has(permission);

const mayReadOrders = (bearer: BearerPrincipal | null) => staffHolds(bearer, STAFF_LIVE_PERMISSION);

async function mayFollow(env: Env, requester: TicketRequester, topic: Topic): Promise<boolean> {
  switch (topicKind(topic)) {
    case 'product':
      return true;
    case 'staff':
      return mayReadOrders(requester.bearer);
    case 'order':
      return mayReadOrders(requester.bearer) || ownsOrder(env, requester, topicSubject(topic));
  }
}

/** The customer who placed the order, or the holder of its order token. */
function ownsOrder(env: Env, requester: TicketRequester, orderId: string): Promise<boolean> {
  const customerId =
    requester.bearer?.principal.type === 'customer' ? requester.bearer.principal.id : undefined;
  if (customerId === undefined && requester.orderToken === undefined) return Promise.resolve(false);
  return proofOpensOrder(createDb(env.DB), orderId, { customerId, orderToken: requester.orderToken });
}

/**
 * The grant a ticket for `topics` carries, or the refusal: 401 when a topic needs credentials and none were
 * sent, 403 `topic_forbidden` (pointing at each refused topic) when those sent do not open it.
 */
export async function ticketGrant(
  env: Env,
  requester: TicketRequester,
  topics: readonly Topic[],
  now = Date.now(),
): Promise<{ until: number; holder: string; catalog: boolean }> {
  const allowed = await Promise.all(topics.map((topic) => mayFollow(env, requester, topic)));
  const refused = topics.flatMap((_, i) => (allowed[i] ? [] : [i]));
  if (refused.length > 0) {
    if (requester.bearer === null && requester.orderToken === undefined) {
      throw new AppError(401, 'unauthenticated', 'These topics need a customer, staff or order token.');
    }
    throw new AppError(403, 'topic_forbidden', 'The credentials sent do not open every topic asked for.', {
      errors: refused.map((i) => ({ pointer: `/body/topics/${i}`, message: 'Not permitted' })),
    });
  }
  const { bearer } = requester;
  return {
    until: Math.min(now + GRANT_MAX_MS, bearer?.expiresAt ?? Number.POSITIVE_INFINITY),
    holder: bearer
      ? `${bearer.principal.type}:${bearer.principal.id}`
      : requester.orderToken
        ? 'order_token'
        : 'anonymous',
    catalog: staffHolds(bearer, CATALOG_LIVE_PERMISSION),
  };
}

/**
 * `public`: opened on the storefront's right to follow an active product, so it ends when the product is taken
 * off sale (the channel's `withdraw`); every other subscription was opened with a ticket's grant.
 */
export type SubscriptionAccess =
  | { ok: true; until: number | null; public: boolean }
  | { ok: false; code: Extract<LiveErrorCode, 'topic_not_found' | 'forbidden'>; message: string };

export async function isActiveProduct(db: D1Database, productId: string): Promise<boolean> {
  const row = await db
    .prepare(`SELECT 1 FROM products WHERE id = ? AND status = 'active'`)
    .bind(productId)
    .first();
  return row !== null;
}

/**
 * Whether a connection holding `grants` may subscribe to `topic` now, and until when: a product's topic with a
 * catalog grant that names it (until that grant ends, whatever the product's status), an active product's topic
 * publicly (until it is taken off sale), any other only with a grant that names it (until that grant ends).
 */
export async function subscriptionAccess(
  env: Env,
  topic: Topic,
  grants: readonly Grant[],
): Promise<SubscriptionAccess> {
  const isProduct = topicKind(topic) === 'product';
  const grant = grants.find((g) => g.topics.has(topic) && g.until > Date.now() && (g.catalog || !isProduct));
  if (isProduct) {
    if (grant) return { ok: true, until: grant.until, public: false };
    return (await isActiveProduct(env.DB, topicSubject(topic)))
      ? { ok: true, until: null, public: true }
      : { ok: false, code: 'topic_not_found', message: 'No active product has this id.' };
  }
  return grant
    ? { ok: true, until: grant.until, public: false }
    : {
        ok: false,
        code: 'forbidden',
        message: 'This topic needs a ticket that names it (POST /v1/live/tickets).',
      };
}
