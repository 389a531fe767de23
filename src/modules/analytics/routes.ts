import { adminRoute } from '../../auth/permissions';
import { jsonContent, problems } from '../../lib/openapi';
import { SalesReportQuery, SalesReportSchema } from './schemas';

export const getSalesReport = adminRoute('orders:read', {
  method: 'get',
  path: '/analytics/sales',
  tags: ['Admin: analytics'],
  summary: 'Orders and revenue per day, region and shipping country',
  description:
    'Aggregated from order events by the analytics consumer (at least once, deduplicated), so a row trails the ' +
    'orders it counts by the event queue’s delay (normally seconds). Amounts are minor units, one row per currency.',
  request: { query: SalesReportQuery },
  responses: { 200: jsonContent(SalesReportSchema, 'A page of daily rows'), ...problems(401, 403, 422) },
});
