/**
 * Managing API keys. A principal can only hand out what it holds: a secret key's permissions must be a subset
 * of its creator's, and a key can only be revoked by a principal holding everything that key holds (so a
 * narrow key cannot switch off a broad one). Every change is audited in the same batch as the write.
 */
import { and, eq, inArray, isNull } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { forgetPublishableKey, publishableKeyHash } from '../../auth/publishable-key';
import { newSecretKey } from '../../auth/secret-key-format';
import { apiKeys, regions, type StaffRole, staffInvites } from '../../db/schema';
import type { AdminCaller } from '../../lib/caller';
import { type AuditRecord, commit } from '../../lib/commit';
import { createDb, type Database } from '../../lib/db';
import { AppError, notFound } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { isPermission, type Permission, ROLE_PERMISSIONS, refuseEscalation } from '../../lib/permissions';
import { pendingInvite, pendingInvitesMadeBy } from '../staff/read';
import { roleMayInvite } from '../staff/rules';
import { activeKeysDescendedFrom } from './read';

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
          secretHash,
          permissions: input.permissions,
          createdBy,
        })
        .returning(),
    ],
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
          secretHash: await publishableKeyHash(id),
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
  const grants = await revokeGrantsOutliving(db, id, null, 'creator_revoked');
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
    statements: [...grants.statements, revoke],
    audit: [
      {
        action: 'api_key.revoke',
        targetType: 'api_key',
        targetId: id,
        changes: { revoked_at: { from: null, to: now.toISOString() } },
      },
      ...grants.audit,
    ],
  });
  forgetPublishableKey(id);
  return (results.at(-1) as Awaited<typeof revoke>)[0] ?? row;
}

/** Why a grant (a key, an invitation) was revoked along with a change to the member or key that made it. */
export type CreatorChange = 'creator_disabled' | 'creator_role_changed' | 'creator_revoked';

/** The audit field naming the creator: a member is disabled or changes role, a key is revoked. */
const CREATOR_FIELD: Record<CreatorChange, string> = {
  creator_disabled: 'staff_id',
  creator_role_changed: 'staff_id',
  creator_revoked: 'api_key_id',
};

type Revocations = { statements: BatchItem<'sqlite'>[]; audit: AuditRecord[] };

/**
 * A grant must not outlive the authority that made it. When a staff member is disabled or a key revoked (`kept`
 * is null) or a member's role changes (`kept` is the new role), what `creatorId`'s authority made and `kept`
 * could not make again is revoked: active secret keys descended from it holding a permission outside `kept`'s,
 * and pending invitations made by it or those keys to a role `kept` could not invite to (see roleMayInvite).
 * The returned statements and audit entries (one `api_key.revoke` or `staff_invite.revoke` per grant) go into
 * the batch of the creator's change, so both commit or neither does.
 */
export async function revokeGrantsOutliving(
  db: Database,
  creatorId: string,
  kept: StaffRole | null,
  reason: CreatorChange,
): Promise<Revocations> {
  const because = { reason, [CREATOR_FIELD[reason]]: creatorId };
  const [keys, invites] = await Promise.all([
    revokeKeysOutliving(db, creatorId, kept ? ROLE_PERMISSIONS[kept] : [], because),
    revokeInvitesOutliving(db, creatorId, kept, because),
  ]);
  return {
    statements: [...keys.statements, ...invites.statements],
    audit: [...keys.audit, ...invites.audit],
  };
}

async function revokeKeysOutliving(
  db: Database,
  creatorId: string,
  kept: readonly Permission[],
  because: Record<string, string>,
): Promise<Revocations> {
  const keep = new Set<string>(kept);
  // Names no longer in PERMISSIONS grant nothing, so they do not make a key outlive anyone.
  const outliving = (await activeKeysDescendedFrom(db, creatorId)).filter((key) =>
    (key.permissions ?? []).filter(isPermission).some((p) => !keep.has(p)),
  );
  if (outliving.length === 0) return { statements: [], audit: [] };
  const now = new Date();
  const ids = outliving.map((key) => key.id);
  return {
    statements: [
      db
        .update(apiKeys)
        .set({ revokedAt: now })
        .where(and(inArray(apiKeys.id, ids), isNull(apiKeys.revokedAt))),
    ],
    audit: ids.map((id) => ({
      action: 'api_key.revoke',
      targetType: 'api_key',
      targetId: id,
      changes: { revoked_at: { from: null, to: now.toISOString() }, ...because },
    })),
  };
}

async function revokeInvitesOutliving(
  db: Database,
  creatorId: string,
  kept: StaffRole | null,
  because: Record<string, string>,
): Promise<Revocations> {
  const now = new Date();
  const outliving = (await pendingInvitesMadeBy(db, creatorId, now)).filter(
    (invite) => kept === null || !roleMayInvite(kept, invite.role),
  );
  if (outliving.length === 0) return { statements: [], audit: [] };
  return {
    statements: [
      db
        .update(staffInvites)
        .set({ revokedAt: now })
        .where(
          and(
            inArray(
              staffInvites.id,
              outliving.map((invite) => invite.id),
            ),
            pendingInvite(now),
          ),
        ),
    ],
    audit: outliving.map((invite) => ({
      action: 'staff_invite.revoke',
      targetType: 'staff_invite',
      targetId: invite.id,
      changes: { email: invite.email, role: invite.role, ...because },
    })),
  };
}
