/** The signed-in customer's own record: read, change, export everything, erase. */
import { and, eq, exists, inArray, isNull, type SQL, sql } from 'drizzle-orm';
import {
  carts,
  customerAddresses,
  customers,
  externalIdentities,
  oneTimeTokens,
  sessions,
} from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { commit } from '../../lib/commit';
import { onlyIf, versionStamp } from '../../lib/d1-writes';
import { createDb, type Database } from '../../lib/db';
import { encryptField } from '../../lib/encryption';
import { AppError, notFound } from '../../lib/errors';
import { type IdempotencyClaim, idempotencyRecord } from '../../lib/idempotency';
import { clearAllFailures } from '../sessions/login-failures';
import { listSessions, revokeAllSessionsStatement } from '../sessions/service';
import { listAddressRows, serializeAddress } from './address-service';
import { verifyCustomerPassword } from './auth-service';
import type { CustomerView } from './schemas';
import { type CustomerRow, serializeCustomer } from './schemas';

export async function loadCustomer(db: Database, id: string): Promise<CustomerRow> {
  const row = await db.select().from(customers).where(eq(customers.id, id)).get();
  if (!row || row.deletedAt) throw notFound('Customer');
  return row;
}

/** Changes the customer's own fields; the answer is computed before the batch, which stores it for a replay. */
export async function updateCustomer(
  env: Env,
  caller: Caller,
  id: string,
  patch: {
    first_name?: string | null;
    last_name?: string | null;
    phone?: string | null;
    locale?: string | null;
  },
  idempotency?: IdempotencyClaim,
): Promise<CustomerView> {
  const db = createDb(env.DB);
  const before = await loadCustomer(db, id);
  const changes = {
    ...(patch.first_name !== undefined ? { firstName: patch.first_name } : {}),
    ...(patch.last_name !== undefined ? { lastName: patch.last_name } : {}),
    ...(patch.locale !== undefined ? { locale: patch.locale } : {}),
    ...(patch.phone !== undefined
      ? { phoneEncrypted: patch.phone ? await encryptField(env, patch.phone) : null }
      : {}),
    updatedAt: new Date(),
  };
  const view = await serializeCustomer(env, { ...before, ...changes });
  await commit(db, caller, {
    statements: [db.update(customers).set(changes).where(eq(customers.id, id))],
    idempotency: idempotencyRecord(idempotency, 200, view),
  });
  return view;
}

/** Everything stored about the customer, decrypted, in one document (GDPR Art. 15/20). */
export async function exportCustomer(env: Env, db: Database, id: string) {
  const row = await loadCustomer(db, id);
  const [addresses, activeSessions, identities] = await Promise.all([
    listAddressRows(db, id),
    listSessions(db, 'customer', id),
    db.select().from(externalIdentities).where(eq(externalIdentities.customerId, id)).all(),
  ]);
  return {
    exported_at: new Date().toISOString(),
    customer: await serializeCustomer(env, row),
    addresses: await Promise.all(addresses.map((a) => serializeAddress(env, a))),
    sessions: activeSessions.map((s) => ({
      id: s.id,
      user_agent: s.userAgent,
      created_at: s.createdAt.toISOString(),
      last_used_at: s.lastUsedAt.toISOString(),
    })),
    external_identities: identities.map((i) => ({
      issuer: i.issuer,
      subject: i.subject,
      linked_at: i.createdAt.toISOString(),
    })),
  };
}

/** How recently a customer without a password must have signed in (not refreshed) to erase the account. */
export const ERASURE_SIGN_IN_WINDOW_MS = 10 * 60 * 1000;

const reauthenticationRequired = (detail: string) =>
  new AppError(401, 'reauthentication_required', detail, {
    headers: { 'WWW-Authenticate': 'Bearer realm="edgecart", error="insufficient_user_authentication"' },
  });

/**
 * Erasure cannot be undone, so a stolen access token alone must not do it: the caller proves they are the owner
 * again, with the current password, or, for an account without one (external sign-in only), with a session
 * signed in within the last ERASURE_SIGN_IN_WINDOW_MS (a refresh keeps a session alive but proves nothing).
 * Returns what the proof relies on, for the erasure's batch to check again as it commits: a password reset or a
 * sign-out everywhere may land in between, and must win.
 */
async function checkFreshAuthentication(
  db: Database,
  caller: Caller,
  row: CustomerRow,
  proof: { password?: string | undefined; sessionId: string },
): Promise<SQL> {
  if (row.passwordHash) {
    if (proof.password === undefined) {
      throw reauthenticationRequired('Send the current password to erase the account.');
    }
    await verifyCustomerPassword(db, caller, { id: row.id, passwordHash: row.passwordHash }, proof.password);
    return sql`${customers.passwordHash} = ${row.passwordHash}`;
  }
  const session = await db
    .select({ createdAt: sessions.createdAt })
    .from(sessions)
    .where(eq(sessions.id, proof.sessionId))
    .get();
  if (!session || session.createdAt.getTime() < Date.now() - ERASURE_SIGN_IN_WINDOW_MS) {
    throw reauthenticationRequired('Sign in again, then erase the account within 10 minutes.');
  }
  return sql`${customers.passwordHash} IS NULL AND ${exists(
    db
      .select({ one: sql`1` })
      .from(sessions)
      .where(and(eq(sessions.id, proof.sessionId), isNull(sessions.revokedAt))),
  )}`;
}

/** The signed-in customer erasing their own account, after proving again that they are its owner. */
export async function eraseOwnAccount(
  db: Database,
  caller: Caller,
  id: string,
  proof: { password?: string | undefined; sessionId: string },
): Promise<void> {
  const proven = await checkFreshAuthentication(db, caller, await loadCustomer(db, id), proof);
  await eraseCustomer(db, caller, id, proven);
}

/**
 * Erases personal data (GDPR Art. 17) but keeps the row and its id, so orders that reference it keep their
 * financial history; orders hold their own copy of what accounting must retain. One batch: the account is
 * anonymized, its open carts stripped of email and address, signed out everywhere and unlinked from external
 * logins, or nothing changes.
 */
export async function eraseCustomer(db: Database, caller: Caller, id: string, proven?: SQL): Promise<void> {
  await loadCustomer(db, id);
  const now = new Date();
  const own = and(eq(sessions.principalType, 'customer'), eq(sessions.principalId, id));
  await commit(db, caller, {
    events: [{ type: 'customer.deleted', aggregateType: 'customer', aggregateId: id, payload: { id } }],
    statements: [
      // First, before the batch signs anyone out: rewrites the row's updated_at with itself while the owner's
      // proof still holds, else with NULL, which fails the NOT NULL column and so the whole batch.
      ...(proven
        ? [
            db
              .update(customers)
              .set({ updatedAt: onlyIf(proven, customers.updatedAt) })
              .where(eq(customers.id, id)),
          ]
        : []),
      db.delete(customerAddresses).where(eq(customerAddresses.customerId, id)),
      db.delete(externalIdentities).where(eq(externalIdentities.customerId, id)),
      db
        .delete(oneTimeTokens)
        .where(and(eq(oneTimeTokens.principalType, 'customer'), eq(oneTimeTokens.principalId, id))),
      // The one write to carts outside the carts module: it must be in this batch, and carts imports this
      // module's schemas, so a statement from carts would close an import loop. Carts not yet an order
      // (`checking_out` too: the order takes its own copy before completing the cart) lose their contact details
      // and keep their lines and holds until cart retention deletes them. Completed carts stay with the orders
      // that name them; merged ones were cleared by the merge. Stamped like every cart write (strictly later, even
      // within one millisecond), so a checkout that read the cart before is refused its lock instead of placing an
      // order with the erased details.
      db
        .update(carts)
        .set({
          email: null,
          shippingAddressEncrypted: null,
          shippingCountry: null,
          updatedAt: versionStamp(carts.updatedAt, now),
        })
        .where(and(eq(carts.customerId, id), inArray(carts.status, ['open', 'checking_out']))),
      revokeAllSessionsStatement(db, 'customer', id, 'erased'),
      // Failed sign-ins name client networks: personal data as well.
      clearAllFailures(db, 'customer', id),
      // Device descriptions are personal data too; the revoked sessions stay only as ids and times.
      db.update(sessions).set({ userAgent: null }).where(own),
      db
        .update(customers)
        .set({
          email: null,
          emailVerifiedAt: null,
          passwordHash: null,
          firstName: null,
          lastName: null,
          phoneEncrypted: null,
          locale: null,
          deletedAt: now,
          updatedAt: now,
        })
        .where(eq(customers.id, id)),
    ],
    recheck: async () => {
      if (!proven) return;
      const row = await db
        .select({ holds: sql<number>`${proven}` })
        .from(customers)
        .where(eq(customers.id, id))
        .get();
      if (!row?.holds) {
        throw reauthenticationRequired(
          'The account changed while it was being erased; prove again that it is yours.',
        );
      }
    },
  });
}
