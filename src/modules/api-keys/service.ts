/**
 * Managing API keys. A principal can only hand out what it holds: a secret key's permissions must be a subset
 * of its creator's, and a key can only be revoked by a principal holding everything that key holds (so a
 * narrow key cannot switch off a broad one). A key is written only while its creator's authority holds (see
 * grants/authority.ts): one made as that authority ends would outlive the revocation that should take it. Every
 * change is audited in the same batch as the write.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { forgetPublishableKey, publishableKeyHash } from '../../auth/publishable-key';
import { newSecretKey } from '../../auth/secret-key-format';
import { apiKeys, regions } from '../../db/schema';
import type { AdminCaller } from '../../lib/caller';
import { commit } from '../../lib/commit';
import { onlyIf } from '../../lib/d1-writes';
import { createDb } from '../../lib/db';
import { AppError, notFound } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { type Permission, refuseEscalation } from '../../lib/permissions';
import { authorityHeld, refuseEndedAuthority } from '../grants/authority';
import { revokeGrantsOutliving } from '../grants/service';

type ApiKeyRow = typeof apiKeys.$inferSelect;

export async function createSecretKey(
  env: Env,
  caller: AdminCaller,
  input: { name: string; permissions: Permission[] },
): Promise<{ row: ApiKeyRow; secretKey: string }> {
  refuseEscalation(
    caller.principal,
    input.permissions,
    'You cannot create a key with permissions you do not hold',
  );
  const db = createDb(env.DB);
  const { id, key, secretHash } = await newSecretKey();
  const createdBy = caller.actor.id;
  const [inserted] = await commit(db, caller, {
    statements: [
      db
        .insert(apiKeys)
        .values({
          id,
          kind: 'secret',
          name: input.name,
          // NULL, failing the NOT NULL column and so the batch, once the creator's authority has ended.
          secretHash: onlyIf(authorityHeld(db, caller.principal), secretHash),
          permissions: input.permissions,
          createdBy,
        })
        .returning(),
    ],
    recheck: () => refuseEndedAuthority(db, caller.principal),
    audit: {
      action: 'api_key.create',
      targetType: 'api_key',
      targetId: id,
      changes: { kind: 'secret', name: input.name, permissions: input.permissions },
    },
  });
  return { row: inserted[0]!, secretKey: key };
}

export async function createPublishableKey(
  env: Env,
  caller: AdminCaller,
  input: { name: string; defaultRegion: string },
): Promise<ApiKeyRow> {
  const db = createDb(env.DB);
  const region = await db
    .select({ id: regions.id })
    .from(regions)
    .where(eq(regions.code, input.defaultRegion))
    .get();
  if (!region) {
    throw new AppError(422, 'unknown_region', `There is no region "${input.defaultRegion}".`, {
      errors: [{ pointer: '/body/default_region', message: 'Use the code of an existing region.' }],
    });
  }
  const id = newId('key');
  const [inserted] = await commit(db, caller, {
    statements: [
      db
        .insert(apiKeys)
        .values({
          id,
          kind: 'publishable',
          name: input.name,
          secretHash: onlyIf(authorityHeld(db, caller.principal), await publishableKeyHash(id)),
          defaultRegion: input.defaultRegion,
          createdBy: caller.actor.id,
        })
        .returning(),
    ],
    audit: {
      action: 'api_key.create',
      targetType: 'api_key',
      targetId: id,
      changes: { kind: 'publishable', name: input.name, default_region: input.defaultRegion },
    },
    recheck: () => refuseEndedAuthority(db, caller.principal),
  });
  forgetPublishableKey(id);
  return inserted[0]!;
}

/**
 * Revokes a key and, in the same batch, what it granted (see revokeGrantsOutliving): a leaked key's children and
 * pending invitations must not keep its access. Revoking a revoked key changes nothing and answers with it as it is.
 */
export async function revokeApiKey(env: Env, caller: AdminCaller, id: string): Promise<ApiKeyRow> {
  const db = createDb(env.DB);
  const row = await db.select().from(apiKeys).where(eq(apiKeys.id, id)).get();
  if (!row) throw notFound('The API key');
  if (row.kind === 'secret')
    refuseEscalation(
      caller.principal,
      row.permissions ?? [],
      'You cannot revoke a key with permissions you do not hold',
    );
  if (row.revokedAt) return row;
  const now = new Date();
  const revoke = db
    .update(apiKeys)
    .set({ revokedAt: now })
    .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    .returning();
  const results = await commit(db, caller, {
    conditional: true,
    // The key's own revoke stays last, as `conditional` needs: a concurrent revoke that got there first leaves
    // nothing to audit.
    statements: [...revokeGrantsOutliving(db, caller, id, null, 'creator_revoked'), revoke],
    audit: {
      action: 'api_key.revoke',
      targetType: 'api_key',
      targetId: id,
      changes: { revoked_at: { from: null, to: now.toISOString() } },
    },
  });
  const revoked = (results.at(-1) as Awaited<typeof revoke>)[0];
  forgetPublishableKey(id);
  // A concurrent revoke got there first: answer with the key as that one left it.
  return revoked ?? (await db.select().from(apiKeys).where(eq(apiKeys.id, id)).get()) ?? row;
}
