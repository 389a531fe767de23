/**
 * Reading endpoints and their delivery log, newest first, with keyset pagination on (created_at, id). A
 * delivery comes with all of its attempts (at most eight per delivery: a redelivery is a new delivery).
 */
import { and, asc, desc, eq, inArray } from 'drizzle-orm';
import { webhookDeliveries, webhookDeliveryAttempts, webhookEndpoints } from '../../db/schema';
import type { Database } from '../../lib/db';
import { notFound } from '../../lib/errors';
import { olderThan, TIME_ID_KEY } from '../../lib/keyset';
import { decodeCursor, paginate } from '../../lib/pagination';
import { serializeWebhookDelivery, serializeWebhookEndpoint } from './schemas';

const SORT = 'created_at_desc';

type Page = { limit: number; cursor?: string | undefined };
type DeliveryStatus = (typeof webhookDeliveries.$inferSelect)['status'];

const after = (cursor: string | undefined) => (cursor ? decodeCursor(cursor, SORT, TIME_ID_KEY) : null);
const timeIdKey = (row: { createdAt: Date; id: string }) => [row.createdAt.getTime(), row.id];

export async function findEndpoint(db: Database, id: string) {
  const row = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id)).get();
  if (!row) throw notFound('The webhook endpoint');
  return row;
}

export async function getEndpoint(db: Database, id: string) {
  return serializeWebhookEndpoint(await findEndpoint(db, id));
}

export async function listEndpoints(db: Database, query: Page) {
  const rows = await db
    .select()
    .from(webhookEndpoints)
    .where(olderThan(webhookEndpoints.createdAt, webhookEndpoints.id, after(query.cursor)))
    .orderBy(desc(webhookEndpoints.createdAt), desc(webhookEndpoints.id))
    .limit(query.limit + 1);
  const { data, page } = paginate(rows, query.limit, SORT, timeIdKey);
  return { data: data.map(serializeWebhookEndpoint), page };
}

export async function listDeliveries(
  db: Database,
  endpointId: string,
  query: Page & { status?: DeliveryStatus | undefined },
) {
  await findEndpoint(db, endpointId);
  const rows = await db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.endpointId, endpointId),
        query.status ? eq(webhookDeliveries.status, query.status) : undefined,
        olderThan(webhookDeliveries.createdAt, webhookDeliveries.id, after(query.cursor)),
      ),
    )
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(query.limit + 1);
  const { data, page } = paginate(rows, query.limit, SORT, timeIdKey);
  const attempts =
    data.length === 0
      ? []
      : await db
          .select()
          .from(webhookDeliveryAttempts)
          .where(
            inArray(
              webhookDeliveryAttempts.deliveryId,
              data.map((row) => row.id),
            ),
          )
          .orderBy(asc(webhookDeliveryAttempts.deliveryId), asc(webhookDeliveryAttempts.attempt));
  return {
    data: data.map((row) =>
      serializeWebhookDelivery(
        row,
        attempts.filter((attempt) => attempt.deliveryId === row.id),
      ),
    ),
    page,
  };
}
