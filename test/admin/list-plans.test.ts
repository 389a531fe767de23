/**
 * What each admin listing reads: for every filter a list endpoint accepts, alone, on its first page and on a
 * page after a cursor, SQLite searches an index whose order is the listing's sort, so a page reads about as
 * many rows as it shows (and at most the rows its filter matches) however large the table grows. A filter
 * walked along another index reads the table until a page matches, and a temp B-tree sorts every match first.
 *
 * The cases come from each endpoint's query schema: a filter added to a schema without a case here fails.
 * Tables small by nature (regions, shipping options, identity providers) are not listed.
 */
import type { z } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import { ORDER_STATUSES, STAFF_ROLES, WEBHOOK_DELIVERY_STATUSES } from '../../src/db/schema';
import { createDb } from '../../src/lib/db';
import { TIME_ID_KEY } from '../../src/lib/keyset';
import { decodeCursor, encodeCursor } from '../../src/lib/pagination';
import { listSales, SALES_SORT } from '../../src/modules/analytics/read';
import { SalesReportQuery } from '../../src/modules/analytics/schemas';
import { API_KEY_SORT, listApiKeys } from '../../src/modules/api-keys/read';
import { ApiKeyListQuery } from '../../src/modules/api-keys/schemas';
import { AUDIT_SORT, listAuditLog } from '../../src/modules/audit/read';
import { AuditLogQuery } from '../../src/modules/audit/schemas';
import { listCategories } from '../../src/modules/categories/admin-read';
import { ListCategoriesQuery } from '../../src/modules/categories/admin-schemas';
import { listCollections } from '../../src/modules/collections/admin-read';
import { ListCollectionsQuery } from '../../src/modules/collections/admin-schemas';
import { DISCOUNT_SORT, listDiscounts } from '../../src/modules/discounts/read';
import { DiscountListQuery } from '../../src/modules/discounts/schemas';
import { DEAD_LETTER_SORT, listDeadLetters } from '../../src/modules/events/read';
import { DeadLetterQuery } from '../../src/modules/events/schemas';
import { listOrders } from '../../src/modules/orders/admin-read';
import { AdminOrderListQuery, orderFiltersOf } from '../../src/modules/orders/admin-schemas';
import { listProducts } from '../../src/modules/products/admin-read';
import { ListProductsQuery, PRODUCT_STATUSES } from '../../src/modules/products/admin-schemas';
import { INVITE_SORT, listInvites, listStaff, STAFF_SORT } from '../../src/modules/staff/read';
import { InviteListQuery, StaffListQuery } from '../../src/modules/staff/schemas';
import { listDeliveries, listEndpoints } from '../../src/modules/webhooks/read';
import { DeliveryListQuery } from '../../src/modules/webhooks/schemas';
import { insertSecretKey } from '../helpers/admin';
import { plansOf } from '../helpers/query-plans';
import { createEndpoint } from '../helpers/webhooks';

/**
 * A filter's value (as a client sends it) and the index that must serve a page of it; `bound: null` where a
 * cursor has nothing to bound (a filter that matches at most one row).
 */
type FilterCase = { value: string; index: string; bound?: null };

/**
 * A list endpoint: its query schema, the read its handler makes of a parsed query, the table it lists, the index
 * of its unfiltered pages, a cursor of its sort and how it bounds a search, cases for each filter (every value of
 * an enum), the filters no index can serve (with why) and what every query of it must have (a report's days).
 */
type Listing<Q extends z.ZodObject> = {
  schema: Q;
  read: (d1: D1Database, query: z.infer<Q>) => Promise<unknown>;
  table: string;
  unfiltered: string;
  cursor: string;
  /**
   * How the cursor bounds the search in a plan: the sort key's comparison; null where the plan cannot show it
   * (test/admin/list-costs.test.ts measures those pages instead).
   */
  bound: string | null;
  filters: Record<string, FilterCase[]>;
  unindexed?: Record<string, string>;
  required?: Record<string, string>;
};

/** One case per value, all served by `index`. */
const each = (values: readonly string[], index: string): FilterCase[] =>
  values.map((value) => ({ value, index }));

const PAGING = ['limit', 'cursor'];
const filtersOf = (schema: z.ZodObject) => Object.keys(schema.shape).filter((key) => !PAGING.includes(key));

const timeCursor = (sort: string) =>
  encodeCursor({ sort, key: [Date.parse('2026-11-01T00:00:00Z'), 'x_01'] });
const afterOf = (cursor: string | undefined, sort: string) =>
  cursor ? decodeCursor(cursor, sort, TIME_ID_KEY) : null;

/**
 * Whether `plan` reads `table` only through `index`: each step on it a SEARCH of it, or a SCAN of it in its order
 * (a first page with no filter, or a partial index that is the filter), bounded by `cursor` (the sort key's
 * comparison) on a page after one; and no temp B-tree sorts what was read.
 */
function servedBy(plan: string[], table: string, index: string, cursor: string | null): boolean {
  const steps = plan.filter((step) => new RegExp(`^(SEARCH|SCAN) ${table}( |$)`).test(step));
  const served = new RegExp(
    `^(SEARCH ${table} USING (COVERING )?INDEX ${index} \\(|SCAN ${table} USING (COVERING )?INDEX ${index}$)`,
  );
  return (
    steps.length > 0 &&
    steps.every((step) => served.test(step) && (cursor === null || step.includes(cursor))) &&
    !plan.some((step) => step.includes('TEMP B-TREE'))
  );
}

function describeListing<Q extends z.ZodObject>(
  name: string,
  listing: () => Promise<Listing<Q>> | Listing<Q>,
) {
  describe(`what a page of ${name} reads`, () => {
    it('has a case for every filter of its query', async () => {
      const { schema, filters, unindexed = {} } = await listing();
      expect([...Object.keys(filters), ...Object.keys(unindexed)].sort()).toStrictEqual(
        filtersOf(schema).sort(),
      );
    });

    it('searches the index of its sort, unfiltered and for each filter alone, from the cursor on a later page', async () => {
      const { schema, read, table, unfiltered, cursor, bound, filters, required = {} } = await listing();
      const cases = [
        { filter: {}, index: unfiltered, bound },
        ...Object.entries(filters).flatMap(([key, values]) =>
          values.map((c) => ({
            filter: { [key]: c.value },
            index: c.index,
            bound: c.bound === null ? null : bound,
          })),
        ),
      ];
      // Every case that is not served, with its plan: all of them show at once.
      const unserved: Record<string, string> = {};
      for (const { filter, index, bound: cursorBound } of cases) {
        for (const paging of [{}, { cursor }] as Record<string, string>[]) {
          const query: Record<string, string> = { ...required, ...filter, ...paging };
          const statements = await plansOf((d1) => read(d1, schema.parse(query)));
          const plan = statements.flatMap((statement) => statement.plan);
          const label = decodeURIComponent(`${new URLSearchParams(query)}`).replace(/cursor=[^&]+/, 'cursor');
          if (!servedBy(plan, table, index, paging.cursor ? cursorBound : null))
            unserved[label || '(no filter)'] = `not by ${index}: ${plan.join(' | ')}`;
        }
      }
      expect(unserved).toStrictEqual({});
    });
  });
}

describeListing('GET /v1/admin/audit-log', () => ({
  schema: AuditLogQuery,
  read: (d1, q) =>
    listAuditLog(
      d1,
      {
        actorType: q.actor_type,
        actorId: q.actor_id,
        action: q.action,
        targetType: q.target_type,
        targetId: q.target_id,
      },
      { limit: q.limit, after: afterOf(q.cursor, AUDIT_SORT) },
    ),
  table: 'audit_log',
  unfiltered: 'audit_log_created_idx',
  cursor: timeCursor(AUDIT_SORT),
  bound: '(created_at,id)<(?,?)',
  filters: {
    actor_type: each(AuditLogQuery.shape.actor_type.unwrap().options, 'audit_log_actor_type_idx'),
    actor_id: each(['stf_01JD3Q6C5W9ZK2M4T8R7XPN0AB'], 'audit_log_actor_id_idx'),
    action: each(['staff.invite'], 'audit_log_action_idx'),
    target_type: each(['identity_provider'], 'audit_log_target_type_idx'),
    target_id: each(['key_01JD3Q6C5W9ZK2M4T8R7XPN0AB'], 'audit_log_target_id_idx'),
  },
}));

describeListing('GET /v1/admin/api-keys', () => ({
  schema: ApiKeyListQuery,
  read: (d1, q) =>
    listApiKeys(
      d1,
      { kind: q.kind, includeRevoked: q.include_revoked },
      { limit: q.limit, after: afterOf(q.cursor, API_KEY_SORT) },
    ),
  table: 'api_keys',
  // Unrevoked keys only, unless include_revoked=true.
  unfiltered: 'api_keys_unrevoked_created_idx',
  cursor: timeCursor(API_KEY_SORT),
  bound: '(created_at,id)<(?,?)',
  filters: {
    // Unrevoked keys of the kind (include_revoked=false): revoked ones are kept, and would fill a page's search.
    kind: each(['secret', 'publishable'], 'api_keys_unrevoked_kind_created_idx'),
    include_revoked: [
      { value: 'true', index: 'api_keys_created_idx' },
      { value: 'false', index: 'api_keys_unrevoked_created_idx' },
    ],
  },
}));

describeListing('GET /v1/admin/staff', () => ({
  schema: StaffListQuery,
  read: (d1, q) =>
    listStaff(
      d1,
      { role: q.role, status: q.status },
      { limit: q.limit, after: afterOf(q.cursor, STAFF_SORT) },
    ),
  table: 'staff_users',
  unfiltered: 'staff_users_created_idx',
  cursor: timeCursor(STAFF_SORT),
  bound: '(created_at,id)<(?,?)',
  filters: {
    role: each(STAFF_ROLES, 'staff_users_role_created_idx'),
    status: each(['active', 'disabled'], 'staff_users_status_created_idx'),
  },
}));

describeListing('GET /v1/admin/staff/invites', () => ({
  schema: InviteListQuery,
  read: (d1, q) =>
    listInvites(d1, { status: q.status }, { limit: q.limit, after: afterOf(q.cursor, INVITE_SORT) }),
  table: 'staff_invites',
  unfiltered: 'staff_invites_created_idx',
  cursor: timeCursor(INVITE_SORT),
  bound: '(created_at,id)<(?,?)',
  filters: {
    // Pending and expired invitations are the open ones (neither accepted nor revoked), told apart by expiry.
    status: [
      { value: 'pending', index: 'staff_invites_open_created_idx' },
      { value: 'expired', index: 'staff_invites_open_created_idx' },
      { value: 'accepted', index: 'staff_invites_accepted_created_idx' },
      { value: 'revoked', index: 'staff_invites_revoked_created_idx' },
    ],
  },
}));

describeListing('GET /v1/admin/events/dead-letters', () => ({
  schema: DeadLetterQuery,
  read: (d1, q) =>
    listDeadLetters(
      createDb(d1),
      { eventType: q.event_type },
      { limit: q.limit, after: afterOf(q.cursor, DEAD_LETTER_SORT) },
    ),
  table: 'dead_letters',
  unfiltered: 'dead_letters_created_idx',
  cursor: timeCursor(DEAD_LETTER_SORT),
  bound: '(created_at,id)<(?,?)',
  filters: { event_type: each(['order.created'], 'dead_letters_event_type_created_idx') },
}));

describeListing('GET /v1/admin/discounts', () => ({
  schema: DiscountListQuery,
  read: (d1, q) =>
    listDiscounts(
      createDb(d1),
      { code: q.code },
      { limit: q.limit, after: afterOf(q.cursor, DISCOUNT_SORT) },
    ),
  table: 'discounts',
  unfiltered: 'discounts_created_idx',
  cursor: timeCursor(DISCOUNT_SORT),
  bound: '(created_at,id)<(?,?)',
  // Codes are unique: at most one row, which a cursor has nothing to bound.
  filters: { code: [{ value: 'WINTER10', index: 'discounts_code_unique', bound: null }] },
}));

describeListing('GET /v1/admin/analytics/sales', () => ({
  schema: SalesReportQuery,
  read: (d1, q) => listSales(createDb(d1), q),
  table: 'sales_daily',
  unfiltered: 'sqlite_autoindex_sales_daily_1',
  cursor: encodeCursor({ sort: SALES_SORT, key: ['2026-02-01', 'eu', 'DE', 'EUR'] }),
  // The search starts on the cursor's day, which a plan shows only as `day>?`, as it shows `from`.
  bound: null,
  required: { from: '2026-01-01', to: '2026-12-31' },
  filters: {
    from: each(['2026-06-01'], 'sqlite_autoindex_sales_daily_1'),
    to: each(['2026-06-30'], 'sqlite_autoindex_sales_daily_1'),
    region: each(['eu'], 'sales_daily_region_day_idx'),
  },
}));

describeListing('GET /v1/admin/orders', () => ({
  schema: AdminOrderListQuery,
  read: (d1, q) => listOrders(createDb(d1), orderFiltersOf(q), q),
  table: 'orders',
  unfiltered: 'orders_created_idx',
  cursor: timeCursor('created_at_desc'),
  bound: '(created_at,id)<(?,?)',
  filters: {
    status: each(ORDER_STATUSES, 'orders_status_created_idx'),
    customer_id: each(['cus_01JD3Q6C5W9ZK2M4T8R7XPN0AB'], 'orders_customer_created_idx'),
    email: each(['shopper@example.com'], 'orders_email_created_idx'),
    created_from: each(['2026-01-01T00:00:00Z'], 'orders_created_idx'),
    created_before: each(['2026-12-01T00:00:00Z'], 'orders_created_idx'),
  },
  unindexed: {
    q: 'the start of an email: reads every order whose email starts with it (orders_email_created_idx), then sorts',
  },
}));

describeListing('GET /v1/admin/products', () => ({
  schema: ListProductsQuery,
  read: (d1, q) => listProducts(createDb(d1), q),
  table: 'products',
  unfiltered: 'sqlite_autoindex_products_1',
  cursor: encodeCursor({ sort: 'id', key: ['prod_01JD3Q6C5W9ZK2M4T8R7XPN0AB'] }),
  bound: 'id>?',
  filters: { status: each(PRODUCT_STATUSES, 'products_status_id_idx') },
  unindexed: {
    q: 'text anywhere in a handle or a title: walks the products in id order until a page matches',
  },
}));

describeListing('GET /v1/admin/categories', () => ({
  schema: ListCategoriesQuery,
  read: (d1, q) => listCategories(createDb(d1), q),
  table: 'categories',
  unfiltered: 'sqlite_autoindex_categories_1',
  cursor: encodeCursor({ sort: 'id', key: ['cat_01JD3Q6C5W9ZK2M4T8R7XPN0AB'] }),
  bound: 'id>?',
  filters: { parent_id: each(['root', 'cat_01JD3Q6C5W9ZK2M4T8R7XPN0AC'], 'categories_parent_idx') },
}));

describeListing('GET /v1/admin/collections', () => ({
  schema: ListCollectionsQuery,
  read: (d1, q) => listCollections(createDb(d1), q),
  table: 'collections',
  unfiltered: 'sqlite_autoindex_collections_1',
  cursor: encodeCursor({ sort: 'id', key: ['col_01JD3Q6C5W9ZK2M4T8R7XPN0AB'] }),
  bound: 'id>?',
  filters: {},
}));

describeListing('GET /v1/admin/webhooks', () => ({
  schema: DeliveryListQuery.pick({ limit: true, cursor: true }),
  read: (d1, q) => listEndpoints(createDb(d1), q),
  table: 'webhook_endpoints',
  unfiltered: 'webhook_endpoints_created_idx',
  cursor: timeCursor('created_at_desc'),
  bound: '(created_at,id)<(?,?)',
  filters: {},
}));

describeListing('GET /v1/admin/webhooks/{id}/deliveries', async () => {
  const endpoint = await createEndpoint((await insertSecretKey()).key, {
    url: 'https://hooks.example.com/plans',
  });
  return {
    schema: DeliveryListQuery,
    read: (d1, q) => listDeliveries(createDb(d1), endpoint.id, q),
    table: 'webhook_deliveries',
    unfiltered: 'webhook_deliveries_endpoint_idx',
    cursor: timeCursor('created_at_desc'),
    bound: '(created_at,id)<(?,?)',
    filters: { status: each(WEBHOOK_DELIVERY_STATUSES, 'webhook_deliveries_endpoint_status_idx') },
  };
});
