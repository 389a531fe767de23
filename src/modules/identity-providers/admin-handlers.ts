import { eq } from 'drizzle-orm';
import { identityProviders } from '../../db/schema';
import type { AdminEnv } from '../../lib/app-env';
import { createDb, type Database } from '../../lib/db';
import { AppError, notFound } from '../../lib/errors';
import { newId } from '../../lib/ids';
import { createRouter } from '../../lib/openapi';
import * as routes from './admin-routes';

type Row = typeof identityProviders.$inferSelect;

const view = (p: Row) => ({
  id: p.id,
  name: p.name,
  issuer: p.issuer,
  client_id: p.clientId,
  jwks_url: p.jwksUrl,
  enabled: p.enabled,
  created_at: p.createdAt.toISOString(),
});

const issuerTaken = () => new AppError(409, 'issuer_taken', 'A provider with this issuer already exists.');

async function assertIssuerFree(db: Database, issuer: string | undefined, exceptId?: string) {
  if (!issuer) return;
  const other = await db
    .select({ id: identityProviders.id })
    .from(identityProviders)
    .where(eq(identityProviders.issuer, issuer))
    .get();
  if (other && other.id !== exceptId) throw issuerTaken();
}

async function load(db: Database, id: string): Promise<Row> {
  const row = await db.select().from(identityProviders).where(eq(identityProviders.id, id)).get();
  if (!row) throw notFound('Identity provider');
  return row;
}

export const adminIdentityProvidersRouter = createRouter<AdminEnv>()
  .openapi(routes.createProvider, async (c) => {
    const input = c.req.valid('json');
    const db = createDb(c.env.DB);
    await assertIssuerFree(db, input.issuer);
    const id = newId('idp');
    await db.insert(identityProviders).values({
      id,
      name: input.name,
      issuer: input.issuer,
      clientId: input.client_id,
      jwksUrl: input.jwks_url,
      enabled: input.enabled ?? true,
    });
    c.header('Location', `/v1/admin/identity-providers/${id}`);
    return c.json(view(await load(db, id)), 201);
  })
  .openapi(routes.listProviders, async (c) => {
    const rows = await createDb(c.env.DB)
      .select()
      .from(identityProviders)
      .orderBy(identityProviders.id)
      .all();
    return c.json({ data: rows.map(view) }, 200);
  })
  .openapi(routes.updateProvider, async (c) => {
    const { id } = c.req.valid('param');
    const patch = c.req.valid('json');
    const db = createDb(c.env.DB);
    await load(db, id);
    await assertIssuerFree(db, patch.issuer, id);
    await db
      .update(identityProviders)
      .set({
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.issuer !== undefined ? { issuer: patch.issuer } : {}),
        ...(patch.client_id !== undefined ? { clientId: patch.client_id } : {}),
        ...(patch.jwks_url !== undefined ? { jwksUrl: patch.jwks_url } : {}),
        ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
        updatedAt: new Date(),
      })
      .where(eq(identityProviders.id, id));
    return c.json(view(await load(db, id)), 200);
  })
  .openapi(routes.deleteProvider, async (c) => {
    const { id } = c.req.valid('param');
    const db = createDb(c.env.DB);
    await load(db, id);
    await db.delete(identityProviders).where(eq(identityProviders.id, id));
    return c.body(null, 204);
  });
