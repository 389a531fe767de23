/**
 * The analytics consumer: order events become daily sales rows in D1 (written once per event, with the processed
 * mark) and a data point in Workers Analytics Engine (written only by the delivery that committed, so a duplicate
 * adds no point either).
 */
import { createDb } from '../../lib/db';
import type { EventConsumer } from '../../lib/event-consumer';
import { writeSalesDataPoint } from './data-points';
import { recordSaleStatement, SALES_EVENT_TYPES, type SalesEvent } from './service';

const isSalesEvent = (event: { type: string }): event is SalesEvent =>
  (SALES_EVENT_TYPES as readonly string[]).includes(event.type);

export const analyticsConsumer: EventConsumer = {
  name: 'analytics',
  handles: (type) => isSalesEvent({ type }),
  async consume(env, event, { commitOnce }) {
    if (!isSalesEvent(event)) return;
    const committed = await commitOnce({ statements: [recordSaleStatement(createDb(env.DB), event)] });
    if (committed) writeSalesDataPoint(env.ANALYTICS, event);
  },
};
