import type { AdminEnv } from '../../lib/app-env';
import { createDb } from '../../lib/db';
import { createRouter } from '../../lib/openapi';
import { paginate } from '../../lib/pagination';
import { listSales, SALES_SORT, salesKeyOf } from './read';
import * as routes from './routes';
import { serializeSalesRow } from './schemas';

export const adminAnalyticsRouter = createRouter<AdminEnv>().openapi(routes.getSalesReport, async (c) => {
  const query = c.req.valid('query');
  const rows = await listSales(createDb(c.env.DB), query);
  const { data, page } = paginate(rows, query.limit, SALES_SORT, salesKeyOf);
  return c.json({ data: data.map(serializeSalesRow), page }, 200);
});
