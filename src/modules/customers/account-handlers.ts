import { and, eq } from 'drizzle-orm';
import { sessions } from '../../db/schema';
import { createDb } from '../../lib/db';
import { notFound } from '../../lib/errors';
import { createRouter } from '../../lib/openapi';
import { listSessions, revokeSession } from '../sessions/service';
import * as routes from './account-routes';
import { eraseCustomer, exportCustomer, loadCustomer, updateCustomer } from './account-service';
import * as addresses from './address-service';
import { customerView } from './view';

export const customerAccountRouter = createRouter();

// Personal data: never stored by browsers or intermediaries.
customerAccountRouter.use('/customers/*', async (c, next) => {
  await next();
  c.header('Cache-Control', 'no-store');
});

customerAccountRouter
  .openapi(routes.getMe, async (c) => {
    const row = await loadCustomer(createDb(c.env.DB), c.get('principal').id);
    return c.json(await customerView(c.env, row), 200);
  })
  .openapi(routes.updateMe, async (c) => {
    return c.json(
      await updateCustomer(c.env, createDb(c.env.DB), c.get('principal').id, c.req.valid('json')),
      200,
    );
  })
  .openapi(routes.exportMe, async (c) => {
    return c.json(await exportCustomer(c.env, createDb(c.env.DB), c.get('principal').id), 200);
  })
  .openapi(routes.deleteMe, async (c) => {
    await eraseCustomer(createDb(c.env.DB), c.get('principal').id);
    return c.body(null, 204);
  })
  .openapi(routes.listMySessions, async (c) => {
    const principal = c.get('principal');
    const rows = await listSessions(createDb(c.env.DB), 'customer', principal.id);
    const current = principal.type === 'customer' ? principal.sessionId : undefined;
    return c.json(
      {
        data: rows.map((s) => ({
          id: s.id,
          user_agent: s.userAgent,
          created_at: s.createdAt.toISOString(),
          last_used_at: s.lastUsedAt.toISOString(),
          expires_at: s.expiresAt.toISOString(),
          current: s.id === current,
        })),
      },
      200,
    );
  })
  .openapi(routes.revokeMySession, async (c) => {
    const db = createDb(c.env.DB);
    const { id } = c.req.valid('param');
    const owned = await db
      .select({ id: sessions.id })
      .from(sessions)
      .where(
        and(
          eq(sessions.id, id),
          eq(sessions.principalType, 'customer'),
          eq(sessions.principalId, c.get('principal').id),
        ),
      )
      .get();
    if (!owned) throw notFound('Session');
    await revokeSession(db, id, 'revoked');
    return c.body(null, 204);
  })
  .openapi(routes.listAddresses, async (c) => {
    const rows = await addresses.listAddressRows(createDb(c.env.DB), c.get('principal').id);
    return c.json({ data: await Promise.all(rows.map((r) => addresses.addressView(c.env, r))) }, 200);
  })
  .openapi(routes.createAddress, async (c) => {
    const row = await addresses.createAddress(
      c.env,
      createDb(c.env.DB),
      c.get('principal').id,
      c.req.valid('json'),
    );
    c.header('Location', `/v1/store/customers/me/addresses/${row.id}`);
    return c.json(await addresses.addressView(c.env, row), 201);
  })
  .openapi(routes.updateAddress, async (c) => {
    const { id } = c.req.valid('param');
    const row = await addresses.updateAddress(
      c.env,
      createDb(c.env.DB),
      c.get('principal').id,
      id,
      c.req.valid('json'),
    );
    return c.json(await addresses.addressView(c.env, row), 200);
  })
  .openapi(routes.deleteAddress, async (c) => {
    await addresses.deleteAddress(createDb(c.env.DB), c.get('principal').id, c.req.valid('param').id);
    return c.body(null, 204);
  });
