/**
 * Identity provider settings: the external OpenID Connect issuers shoppers may sign in with. An issuer is
 * configured at most once (checked up front for a clear 409; the unique index decides a race).
 *
 * Both URLs pass the outbound URL guard before they are stored (422 `url_not_allowed`); the JWKS fetch checks
 * its URL again.
 *
 * Settings, not catalog: no catalog version bump, and no domain events (only catalog aggregates raise them
 * so far); every write is audited as `identity_provider.create|update|delete`.
 */
import { eq } from 'drizzle-orm';
import { identityProviders } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { commit } from '../../lib/commit';
import { valueTaken } from '../../lib/d1-writes';
import { createDb, type Database } from '../../lib/db';
import { AppError, notFound } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { applyPatch, auditChanges } from '../../lib/row-changes';
import { assertUrlsAllowed } from '../../lib/url-guard';
import type { IdentityProviderInput, IdentityProviderUpdate } from './schemas';

type ProviderRow = typeof identityProviders.$inferSelect;

export function serializeIdentityProvider(p: ProviderRow) {
  return {
    id: p.id,
    name: p.name,
    issuer: p.issuer,
    client_id: p.clientId,
    jwks_url: p.jwksUrl,
    enabled: p.enabled,
    created_at: p.createdAt.toISOString(),
  };
}

async function assertIssuerFree(db: Database, issuer: string | undefined, exceptId?: string) {
  if (
    issuer !== undefined &&
    (await valueTaken(db, identityProviders.issuer, issuer, identityProviders.id, exceptId))
  ) {
    throw new AppError(409, 'issuer_taken', 'A provider with this issuer already exists.');
  }
}

function assertProviderUrls(env: Env, input: IdentityProviderUpdate) {
  assertUrlsAllowed(env.ENVIRONMENT, { '/body/issuer': input.issuer, '/body/jwks_url': input.jwks_url });
}

async function findProvider(db: Database, id: string): Promise<ProviderRow> {
  const row = await db.select().from(identityProviders).where(eq(identityProviders.id, id)).get();
  if (!row) throw notFound('Identity provider');
  return row;
}

export async function listProviders(env: Env) {
  const rows = await createDb(env.DB).select().from(identityProviders).orderBy(identityProviders.id).all();
  return { data: rows.map(serializeIdentityProvider) };
}

type ProviderColumns = Omit<ProviderRow, 'id' | 'enabled' | 'createdAt' | 'updatedAt'> & {
  enabled?: boolean;
};

/** The columns a provider body sets; a field left out stays undefined and is not written. */
function providerColumns(input: IdentityProviderInput): ProviderColumns;
function providerColumns(input: IdentityProviderUpdate): Partial<ProviderColumns>;
function providerColumns(input: IdentityProviderUpdate): Partial<ProviderColumns> {
  return {
    name: input.name,
    issuer: input.issuer,
    clientId: input.client_id,
    jwksUrl: input.jwks_url,
    enabled: input.enabled,
  };
}

export async function createProvider(
  env: Env,
  caller: Caller,
  input: IdentityProviderInput,
  fields: string[],
) {
  assertProviderUrls(env, input);
  const db = createDb(env.DB);
  await assertIssuerFree(db, input.issuer);
  const now = new Date();
  const row: ProviderRow = {
    id: newId('idp'),
    ...providerColumns(input),
    enabled: input.enabled ?? true,
    createdAt: now,
    updatedAt: now,
  };
  await commit(db, caller, {
    statements: [db.insert(identityProviders).values(row)],
    audit: {
      action: 'identity_provider.create',
      targetType: 'identity_provider',
      targetId: row.id,
      changes: auditChanges(identityProviders, fields, null, row),
    },
    recheck: () => assertIssuerFree(db, input.issuer),
  });
  return serializeIdentityProvider(row);
}

/** The provider as it is before the update, once the update is known to be allowed. */
async function checkUpdate(db: Database, id: string, patch: IdentityProviderUpdate): Promise<ProviderRow> {
  const before = await findProvider(db, id);
  await assertIssuerFree(db, patch.issuer, id);
  return before;
}

export async function updateProvider(
  env: Env,
  caller: Caller,
  id: string,
  input: IdentityProviderUpdate,
  fields: string[],
) {
  assertProviderUrls(env, input);
  const db = createDb(env.DB);
  const before = await checkUpdate(db, id, input);
  const patch = { ...providerColumns(input), updatedAt: new Date() };
  const after = applyPatch(before, patch);
  await commit(db, caller, {
    statements: [db.update(identityProviders).set(patch).where(eq(identityProviders.id, id))],
    audit: {
      action: 'identity_provider.update',
      targetType: 'identity_provider',
      targetId: id,
      changes: auditChanges(identityProviders, fields, before, after),
    },
    recheck: async () => {
      await checkUpdate(db, id, input);
    },
  });
  return serializeIdentityProvider(after);
}

export async function deleteProvider(env: Env, caller: Caller, id: string): Promise<void> {
  const db = createDb(env.DB);
  const before = await findProvider(db, id);
  const [deleted] = await commit(db, caller, {
    conditional: true,
    statements: [
      db
        .delete(identityProviders)
        .where(eq(identityProviders.id, id))
        .returning({ id: identityProviders.id }),
    ],
    audit: {
      action: 'identity_provider.delete',
      targetType: 'identity_provider',
      targetId: id,
      changes: auditChanges(identityProviders, [], before, null),
    },
  });
  if (deleted.length === 0) throw notFound('Identity provider');
}
