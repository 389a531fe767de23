import { callerOf } from '../../auth/caller';
import { createDb } from '../../lib/db';
import { createRouter } from '../../lib/openapi';
import { rateLimit } from '../../middleware/rate-limit';
import { listOwnSessions, revokeOwnSession } from '../sessions/own-sessions';
import * as routes from './account-routes';
import { eraseOwnAccount, exportCustomer, loadCustomer, updateCustomer } from './account-service';
import * as addresses from './address-service';
import { serializeCustomer } from './schemas';

export const customerAccountRouter = createRouter();

// Personal data: never stored by browsers or intermediaries.
customerAccountRouter.use('/customers/*', async (c, next) => {
  await next();
  c.header('Cache-Control', 'no-store');
});

customerAccountRouter
  .openapi(routes.getMe, async (c) => {
    const row = await loadCustomer(createDb(c.env.DB), c.get('principal').id);
    return c.json(await serializeCustomer(c.env, row), 200);
  })
  .openapi(routes.updateMe, async (c) => {
    const view = await updateCustomer(
      c.env,
      callerOf(c),
      c.get('principal').id,
      c.req.valid('json'),
      c.var.idempotency,
    );
    return c.json(view, 200);
  })
  .openapi(routes.exportMe, async (c) => {
    return c.json(await exportCustomer(c.env, createDb(c.env.DB), c.get('principal').id), 200);
  })
  .openapi(routes.deleteMe, async (c) => {
    const principal = c.get('principal');
    // Each try costs a password check: limited per account like sign-ins, so a stolen token cannot guess fast.
    await rateLimit('AUTH_ACCOUNT_RATE_LIMITER', `customer:${principal.id}`, c);
    await eraseOwnAccount(createDb(c.env.DB), callerOf(c), principal.id, {
      password: c.req.valid('json').password,
      sessionId: principal.sessionId,
    });
    return c.body(null, 204);
  })
  .openapi(routes.listMySessions, async (c) => {
    const principal = c.get('principal');
    return c.json(
      await listOwnSessions(createDb(c.env.DB), 'customer', principal.id, principal.sessionId),
      200,
    );
  })
  .openapi(routes.revokeMySession, async (c) => {
    await revokeOwnSession(createDb(c.env.DB), 'customer', c.get('principal').id, c.req.valid('param').id);
    return c.body(null, 204);
  })
  .openapi(routes.listAddresses, async (c) => {
    return c.json(await addresses.listAddressPage(c.env, c.get('principal').id, c.req.valid('query')), 200);
  })
  .openapi(routes.createAddress, async (c) => {
    const view = await addresses.createAddress(
      c.env,
      callerOf(c),
      c.get('principal').id,
      c.req.valid('json'),
      c.var.idempotency,
    );
    c.header('Location', `/v1/store/customers/me/addresses/${view.id}`);
    return c.json(view, 201);
  })
  .openapi(routes.updateAddress, async (c) => {
    const view = await addresses.updateAddress(
      c.env,
      callerOf(c),
      c.get('principal').id,
      c.req.valid('param').id,
      c.req.valid('json'),
      c.var.idempotency,
    );
    return c.json(view, 200);
  })
  .openapi(routes.deleteAddress, async (c) => {
    const { id } = c.req.valid('param');
    await addresses.deleteAddress(c.env, callerOf(c), c.get('principal').id, id, c.var.idempotency);
    return c.body(null, 204);
  });
