import { createDb } from '../../lib/db';
import { createRouter } from '../../lib/openapi';
import { noStore } from '../../middleware/no-store';
import { listOwnOrders, readOwnOrder } from './store-read';
import * as routes from './store-routes';

export const storeOrdersRouter = createRouter();

// Personal data (addresses, what someone bought): never kept by browsers or intermediaries.
storeOrdersRouter.use('/orders', noStore());
storeOrdersRouter.use('/orders/*', noStore());

storeOrdersRouter
  .openapi(routes.listMyOrders, async (c) =>
    c.json(await listOwnOrders(createDb(c.env.DB), c.get('principal').id, c.req.valid('query')), 200),
  )
  .openapi(routes.getMyOrder, async (c) => {
    const order = await readOwnOrder(c.env, c.req.valid('param').id, {
      customerId: c.var.principal?.id,
      orderToken: c.req.valid('header')['X-Order-Token'],
    });
    return c.json(order, 200);
  });
