/**
 * Webhook endpoints: register, change, remove, and rotate the signing secret. The URL passes the outbound URL
 * guard before it is stored (422 `url_not_allowed`) and again before every delivery. The secret is created
 * here, returned once (on create and on rotation) and stored encrypted; audit entries never carry it.
 *
 * A rotation keeps the old secret signing beside the new one for ROTATION_OVERLAP_MS, so receivers can switch
 * over without rejecting a single request.
 */
import { and, eq } from 'drizzle-orm';
import { webhookEndpoints } from '../../db/schema';
import type { Caller } from '../../lib/caller';
import { commit } from '../../lib/commit';
import { createDb } from '../../lib/db';
import { encryptField } from '../../lib/encryption';
import { conflict, notFound } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { applyPatch, changesOf } from '../../lib/row-changes';
import { assertUrlsAllowed } from '../../lib/url-guard';
import { findEndpoint } from './read';
import {
  type CreateWebhookEndpoint,
  serializeWebhookEndpoint,
  type UpdateWebhookEndpoint,
  type WebhookEndpoint,
} from './schemas';
import { newSigningSecret } from './signature';

export const ROTATION_OVERLAP_MS = 24 * 3600_000;

type EndpointRow = typeof webhookEndpoints.$inferSelect;

/** What staff set, as the API names it: the part of an endpoint its audit entries describe. */
function settingsOf(endpoint: WebhookEndpoint) {
  return {
    url: endpoint.url,
    events: endpoint.events,
    description: endpoint.description,
    enabled: endpoint.enabled,
  };
}

export async function createEndpoint(
  env: Env,
  caller: Caller,
  input: CreateWebhookEndpoint,
): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  assertUrlsAllowed(env.ENVIRONMENT, { '/body/url': input.url });
  const db = createDb(env.DB);
  const secret = newSigningSecret();
  const now = new Date();
  const enabled = input.enabled ?? true;
  const row: EndpointRow = {
    id: newId('whe'),
    url: input.url,
    description: input.description ?? null,
    eventTypes: input.events,
    enabled,
    disabledReason: enabled ? null : 'manual',
    disabledAt: enabled ? null : now,
    secretEncrypted: await encryptField(env, secret),
    previousSecretEncrypted: null,
    previousSecretExpiresAt: null,
    failingSince: null,
    createdAt: now,
    updatedAt: now,
  };
  const endpoint = serializeWebhookEndpoint(row);
  await commit(db, caller, {
    statements: [db.insert(webhookEndpoints).values(row)],
    audit: {
      action: 'webhook_endpoint.create',
      targetType: 'webhook_endpoint',
      targetId: row.id,
      changes: settingsOf(endpoint),
    },
  });
  return { endpoint, secret };
}

/**
 * The columns an update sets. Enabling clears the reason it was off and its failure streak, so a repaired
 * receiver starts afresh; so does a new URL.
 */
function endpointPatch(before: EndpointRow, input: UpdateWebhookEndpoint, now: Date): Partial<EndpointRow> {
  const enabling = input.enabled === true && !before.enabled;
  const disabling = input.enabled === false && before.enabled;
  const newUrl = input.url !== undefined && input.url !== before.url;
  return {
    url: input.url,
    eventTypes: input.events,
    description: input.description,
    enabled: input.enabled,
    ...(enabling && { disabledReason: null, disabledAt: null }),
    ...(disabling && { disabledReason: 'manual' as const, disabledAt: now }),
    ...((enabling || newUrl) && { failingSince: null }),
    updatedAt: now,
  };
}

export async function updateEndpoint(
  env: Env,
  caller: Caller,
  id: string,
  input: UpdateWebhookEndpoint,
): Promise<WebhookEndpoint> {
  assertUrlsAllowed(env.ENVIRONMENT, { '/body/url': input.url });
  const db = createDb(env.DB);
  const before = await findEndpoint(db, id);
  const patch = endpointPatch(before, input, new Date());
  const after = serializeWebhookEndpoint(applyPatch(before, patch));
  const [updated] = await commit(db, caller, {
    conditional: true,
    statements: [
      db
        .update(webhookEndpoints)
        .set(patch)
        .where(eq(webhookEndpoints.id, id))
        .returning({ id: webhookEndpoints.id }),
    ],
    audit: {
      action: 'webhook_endpoint.update',
      targetType: 'webhook_endpoint',
      targetId: id,
      changes: changesOf(settingsOf(serializeWebhookEndpoint(before)), settingsOf(after)),
    },
  });
  if (updated.length === 0) throw notFound('The webhook endpoint');
  return after;
}

export async function deleteEndpoint(env: Env, caller: Caller, id: string): Promise<void> {
  const db = createDb(env.DB);
  const before = serializeWebhookEndpoint(await findEndpoint(db, id));
  const [deleted] = await commit(db, caller, {
    conditional: true,
    statements: [
      db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id)).returning({ id: webhookEndpoints.id }),
    ],
    audit: {
      action: 'webhook_endpoint.delete',
      targetType: 'webhook_endpoint',
      targetId: id,
      changes: settingsOf(before),
    },
  });
  if (deleted.length === 0) throw notFound('The webhook endpoint');
}

/**
 * A new signing secret; the current one keeps signing beside it until ROTATION_OVERLAP_MS from now (a secret
 * rotated out earlier stops at once). Two rotations at the same moment: one wins, the other is a 409, so no
 * caller is handed a secret that never signs.
 */
export async function rotateSecret(
  env: Env,
  caller: Caller,
  id: string,
): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  const db = createDb(env.DB);
  const before = await findEndpoint(db, id);
  const secret = newSigningSecret();
  const now = new Date();
  const patch = {
    secretEncrypted: await encryptField(env, secret),
    previousSecretEncrypted: before.secretEncrypted,
    previousSecretExpiresAt: new Date(now.getTime() + ROTATION_OVERLAP_MS),
    updatedAt: now,
  };
  const [rotated] = await commit(db, caller, {
    conditional: true,
    statements: [
      db
        .update(webhookEndpoints)
        .set(patch)
        .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.secretEncrypted, before.secretEncrypted)))
        .returning({ id: webhookEndpoints.id }),
    ],
    audit: {
      action: 'webhook_endpoint.rotate_secret',
      targetType: 'webhook_endpoint',
      targetId: id,
      changes: { previous_secret_expires_at: patch.previousSecretExpiresAt.toISOString() },
    },
  });
  if (rotated.length === 0) {
    await findEndpoint(db, id);
    throw conflict('secret_rotated_concurrently', 'The secret was rotated by another request; rotate again.');
  }
  return { endpoint: serializeWebhookEndpoint(applyPatch(before, patch)), secret };
}
