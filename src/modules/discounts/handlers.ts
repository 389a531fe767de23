import { callerOf } from '../../auth/caller';
import type { AdminEnv } from '../../lib/app-env';
import { createDb } from '../../lib/db';
import { TIME_ID_KEY } from '../../lib/keyset';
import { createRouter, respondCreated, sentFields } from '../../lib/openapi';
import { decodeCursor, paginate } from '../../lib/pagination';
import * as read from './read';
import * as routes from './routes';
import { serializeDiscount } from './schemas';
import * as service from './service';

export const adminDiscountsRouter = createRouter<AdminEnv>()
  .openapi(routes.createDiscount, async (c) =>
    respondCreated(
      c,
      '/v1/admin/discounts',
      await service.createDiscount(c.env, callerOf(c), c.req.valid('json'), await sentFields(c)),
    ),
  )
  .openapi(routes.listDiscounts, async (c) => {
    const q = c.req.valid('query');
    const after = q.cursor ? decodeCursor(q.cursor, read.DISCOUNT_SORT, TIME_ID_KEY) : null;
    const rows = await read.listDiscounts(createDb(c.env.DB), { code: q.code }, { limit: q.limit, after });
    const { data, page } = paginate(rows, q.limit, read.DISCOUNT_SORT, (r) => [
      r.discount.createdAt.getTime(),
      r.discount.id,
    ]);
    return c.json({ data: data.map((r) => serializeDiscount(r.discount, r.timesUsed)), page }, 200);
  })
  .openapi(routes.getDiscount, async (c) => {
    const db = createDb(c.env.DB);
    const { id } = c.req.valid('param');
    return c.json(serializeDiscount(await read.findDiscount(db, id), await read.timesUsed(db, id)), 200);
  })
  .openapi(routes.updateDiscount, async (c) => {
    const discount = await service.updateDiscount(
      c.env,
      callerOf(c),
      c.req.valid('param').id,
      c.req.valid('json'),
      await sentFields(c),
    );
    return c.json(discount, 200);
  })
  .openapi(routes.deleteDiscount, async (c) => {
    await service.deleteDiscount(c.env, callerOf(c), c.req.valid('param').id);
    return c.body(null, 204);
  });
