/**
 * "Sign in with <provider>": the storefront obtains an ID token from a configured OpenID Connect issuer and
 * trades it here for an edgecart customer. Accounts link by (issuer, sub) first, then by email, and an email
 * counts only when the issuer says it is verified:
 * - an unverified email never links to an existing account (409) and is not stored on a new one, so nobody can
 *   claim or squat an address through a provider that does not check it;
 * - a verified email that matches an account whose owner never proved the address (someone may have registered
 *   it first, with their own password) links, marks it verified, and drops that password and every session, so
 *   only the address's proven owner keeps access.
 */
import { and, eq } from 'drizzle-orm';
import { customers, externalIdentities } from '../../db/schema';
import { actingAs, type Caller, callerLogger } from '../../lib/caller';
import { commit } from '../../lib/commit';
import { constraintFailure } from '../../lib/d1-writes';
import { createDb, type Database } from '../../lib/db';
import { Email } from '../../lib/email-address';
import { AppError } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { cutToLength } from '../../lib/unicode-text';
import { findProvider, type Provider, verifyIdToken } from '../identity-providers/id-token';
import { revokeAllSessionsStatement } from '../sessions/service';
import type { CustomerRow } from './schemas';

type Identity = { issuer: string; subject: string };

async function linkedCustomer(db: Database, identity: Identity): Promise<CustomerRow | undefined> {
  const linked = await db
    .select({ customer: customers })
    .from(externalIdentities)
    .innerJoin(customers, eq(customers.id, externalIdentities.customerId))
    .where(
      and(eq(externalIdentities.issuer, identity.issuer), eq(externalIdentities.subject, identity.subject)),
    )
    .get();
  return linked?.customer;
}

async function linkExisting(db: Database, caller: Caller, existing: CustomerRow, identity: Identity) {
  const link = db.insert(externalIdentities).values({ ...identity, customerId: existing.id });
  const now = new Date();
  // An email the provider verified but we never did: whoever set the password may not own the address, so
  // the password and its sessions go (pre-account takeover).
  const takeOver = existing.emailVerifiedAt
    ? []
    : [
        db
          .update(customers)
          .set({
            emailVerifiedAt: now,
            passwordHash: null,
            updatedAt: now,
          })
          .where(eq(customers.id, existing.id)),
        revokeAllSessionsStatement(db, 'customer', existing.id, 'revoked'),
      ];
  await commit(db, caller, { statements: [link, ...takeOver] });
}

async function createLinked(
  db: Database,
  caller: Caller,
  identity: Identity,
  claims: { email: string | null; givenName: unknown; familyName: unknown },
): Promise<void> {
  const id = newId('cus');
  // Cut to the API's 100 at a character boundary; a name holding half of a character (a lone surrogate, which a
  // JSON claim can escape) is not stored, as the API would refuse it.
  const name = (value: unknown) =>
    typeof value === 'string' && value.trim() && value.isWellFormed() ? cutToLength(value.trim(), 100) : null;
  // Whoever signs up acts as the customer they become.
  await commit(db, actingAs(caller, { type: 'customer', id }), {
    statements: [
      db.insert(customers).values({
        id,
        email: claims.email,
        emailVerifiedAt: claims.email ? new Date() : null,
        firstName: name(claims.givenName),
        lastName: name(claims.familyName),
      }),
      db.insert(externalIdentities).values({ ...identity, customerId: id }),
    ],
    events: [{ type: 'customer.created', aggregateType: 'customer', aggregateId: id, payload: { id } }],
  });
}

async function link(
  db: Database,
  caller: Caller,
  provider: Provider,
  claims: Record<string, unknown> & { sub: string },
) {
  const identity = { issuer: provider.issuer, subject: claims.sub };
  const linked = await linkedCustomer(db, identity);
  if (linked) return;
  // Only an address the API's Email takes counts, as the account's email could not be used otherwise (its carts'
  // orders carry it in their events); one it refuses is treated as absent (docs/AUTH.md).
  const email = Email.safeParse(claims.email).data ?? null;
  const verified = claims.email_verified === true && email !== null;
  const existing = email
    ? await db.select().from(customers).where(eq(customers.email, email)).get()
    : undefined;
  if (existing && !verified) {
    throw new AppError(
      409,
      'email_not_verified',
      'An account with this email exists; sign in with your password, or verify the email with the provider.',
    );
  }
  if (existing) return linkExisting(db, caller, existing, identity);
  return createLinked(db, caller, identity, {
    email: verified ? email : null,
    givenName: claims.given_name,
    familyName: claims.family_name,
  });
}

export async function signInWithIdToken(
  env: Env,
  caller: Caller,
  input: { provider: string; id_token: string; nonce?: string },
): Promise<CustomerRow> {
  const db = createDb(env.DB);
  const provider = await findProvider(db, input.provider);
  const jwksContext = { kv: env.KV, environment: env.ENVIRONMENT, logger: callerLogger(caller) };
  const claims = await verifyIdToken(jwksContext, provider, input.id_token, input.nonce);
  try {
    await link(db, caller, provider, claims);
  } catch (error) {
    // A concurrent first sign-in of the same identity (or email) won the insert; its link is the answer.
    if (constraintFailure(error)?.kind !== 'unique') throw error;
  }
  const customer = await linkedCustomer(db, { issuer: provider.issuer, subject: claims.sub });
  if (!customer) {
    throw new AppError(409, 'email_taken', 'Another sign-in with this email is in progress; try again.');
  }
  return customer;
}
