/**
 * Managing API keys. A principal can only hand out what it holds: a secret key's permissions must be a subset
 * of its creator's, and a key can only be revoked by a principal holding everything that key holds (so a
 * narrow key cannot switch off a broad one). Every change is audited in the same batch as the write.
 */
import { and, desc, eq, isNull, lt, or } from 'drizzle-orm';
import type { Context } from 'hono';
import { apiKeys, regions } from '../../db/schema';
import type { AppEnv } from '../../env';
import { createDb } from '../../lib/db';
import { AppError, notFound } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { isPermission, type Permission } from '../../lib/permissions';
import { auditEntry } from '../audit/service';
import { forgetPublishableKey, publishableKeyHash } from './publishable-key';
import { newSecretKey } from './secret-key';

type ApiKeyRow = typeof apiKeys.$inferSelect;

function refuseEscalation(c: Context<AppEnv>, wanted: readonly string[], verb: string): void {
  const held = c.get('principal').permissions;
  // Names no longer in PERMISSIONS grant nothing, so they are nothing to hold.
  const missing = wanted.filter(isPermission).filter((p) => !held.has(p));
  if (missing.length > 0) {
    throw new AppError(
      403,
      'permission_escalation',
      `You cannot ${verb} a key with permissions you do not hold: ${missing.join(', ')}.`,
    );
  }
}

export async function createSecretKey(
  c: Context<AppEnv>,
  input: { name: string; permissions: Permission[] },
): Promise<{ row: ApiKeyRow; secretKey: string }> {
  refuseEscalation(c, input.permissions, 'create');
  const db = createDb(c.env.DB);
  const { id, key, secretHash } = await newSecretKey();
  const createdBy = c.get('principal').id;
  const [[row]] = await db.batch([
    db
      .insert(apiKeys)
      .values({ id, kind: 'secret', name: input.name, secretHash, permissions: input.permissions, createdBy })
      .returning(),
    auditEntry(db, c, {
      action: 'api_key.create',
      targetType: 'api_key',
      targetId: id,
      changes: { kind: 'secret', name: input.name, permissions: input.permissions },
    }),
  ]);
  return { row: row!, secretKey: key };
}

export async function createPublishableKey(
  c: Context<AppEnv>,
  input: { name: string; defaultRegion: string },
): Promise<ApiKeyRow> {
  const db = createDb(c.env.DB);
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
  const [[row]] = await db.batch([
    db
      .insert(apiKeys)
      .values({
        id,
        kind: 'publishable',
        name: input.name,
        secretHash: await publishableKeyHash(id),
        defaultRegion: input.defaultRegion,
        createdBy: c.get('principal').id,
      })
      .returning(),
    auditEntry(db, c, {
      action: 'api_key.create',
      targetType: 'api_key',
      targetId: id,
      changes: { kind: 'publishable', name: input.name, default_region: input.defaultRegion },
    }),
  ]);
  forgetPublishableKey(id);
  return row!;
}

export const API_KEY_SORT = 'created_at_desc';

export function listApiKeys(
  d1: D1Database,
  filters: { kind?: ApiKeyRow['kind'] | undefined; includeRevoked: boolean },
  page: { limit: number; after: [number, string] | null },
) {
  return createDb(d1)
    .select()
    .from(apiKeys)
    .where(
      and(
        filters.kind ? eq(apiKeys.kind, filters.kind) : undefined,
        filters.includeRevoked ? undefined : isNull(apiKeys.revokedAt),
        page.after
          ? or(
              lt(apiKeys.createdAt, new Date(page.after[0])),
              and(eq(apiKeys.createdAt, new Date(page.after[0])), lt(apiKeys.id, page.after[1])),
            )
          : undefined,
      ),
    )
    .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
    .limit(page.limit + 1);
}

/** Revokes a key; revoking a revoked key changes nothing and answers with it as it is. */
export async function revokeApiKey(c: Context<AppEnv>, id: string): Promise<ApiKeyRow> {
  const db = createDb(c.env.DB);
  const row = await db.select().from(apiKeys).where(eq(apiKeys.id, id)).get();
  if (!row) throw notFound('The API key');
  if (row.kind === 'secret') refuseEscalation(c, row.permissions ?? [], 'revoke');
  if (row.revokedAt) return row;
  const now = new Date();
  const [[revoked]] = await db.batch([
    db
      .update(apiKeys)
      .set({ revokedAt: now })
      .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
      .returning(),
    auditEntry(db, c, {
      action: 'api_key.revoke',
      targetType: 'api_key',
      targetId: id,
      changes: { revoked_at: { from: null, to: now.toISOString() } },
    }),
  ]);
  forgetPublishableKey(id);
  return revoked ?? row;
}
