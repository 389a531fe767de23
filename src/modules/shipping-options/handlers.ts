import { callerOf } from '../../auth/caller';
import type { AdminEnv } from '../../lib/app-env';
import { createDb } from '../../lib/db';
import { TIME_ID_KEY } from '../../lib/keyset';
import { createRouter, respondCreated, sentFields } from '../../lib/openapi';
import { decodeCursor, paginate } from '../../lib/pagination';
import * as read from './read';
import * as routes from './routes';
import { serializeShippingOption } from './schemas';
import * as service from './service';

export const adminShippingOptionsRouter = createRouter<AdminEnv>()
  .openapi(routes.createShippingOption, async (c) =>
    respondCreated(
      c,
      '/v1/admin/shipping-options',
      await service.createShippingOption(c.env, callerOf(c), c.req.valid('json'), await sentFields(c)),
    ),
  )
  .openapi(routes.listShippingOptions, async (c) => {
    const q = c.req.valid('query');
    const after = q.cursor ? decodeCursor(q.cursor, read.SHIPPING_OPTION_SORT, TIME_ID_KEY) : null;
    const rows = await read.listShippingOptions(
      createDb(c.env.DB),
      { regionId: q.region_id },
      { limit: q.limit, after },
    );
    const { data, page } = paginate(rows, q.limit, read.SHIPPING_OPTION_SORT, (r) => [
      r.createdAt.getTime(),
      r.id,
    ]);
    return c.json({ data: data.map(serializeShippingOption), page }, 200);
  })
  .openapi(routes.getShippingOption, async (c) =>
    c.json(
      serializeShippingOption(await read.findShippingOption(createDb(c.env.DB), c.req.valid('param').id)),
      200,
    ),
  )
  .openapi(routes.updateShippingOption, async (c) => {
    const option = await service.updateShippingOption(
      c.env,
      callerOf(c),
      c.req.valid('param').id,
      c.req.valid('json'),
      await sentFields(c),
    );
    return c.json(option, 200);
  })
  .openapi(routes.deleteShippingOption, async (c) => {
    await service.deleteShippingOption(c.env, callerOf(c), c.req.valid('param').id);
    return c.body(null, 204);
  });
