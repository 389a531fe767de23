/**
 * Sales data points for Workers Analytics Engine (binding ANALYTICS): one per order event, for dashboards and SQL
 * queries over time at any granularity, beside the D1 daily table the admin endpoint reads. Locally the binding
 * accepts points and stores nothing; the point is built by `salesDataPoint`, so tests see exactly what is written.
 *
 * Layout (Analytics Engine columns are positional): index1 = region; blob1 = event type, blob2 = region,
 * blob3 = country, blob4 = currency, blob5 = order id; double1 = orders, double2 = ordered, double3 = paid,
 * double4 = refunded (minor units; negative
 * for `order.refund_failed`, a refund that returned nothing after all).
 */
import { type SalesEvent, salesDelta } from './service';

export function salesDataPoint(event: SalesEvent): AnalyticsEngineDataPoint {
  const delta = salesDelta(event);
  const { region, country, currency, id } = event.data;
  return {
    indexes: [region],
    blobs: [event.type, region, country, currency, id],
    doubles: [delta.orders, delta.ordered, delta.paid, delta.refunded],
  };
}

export function writeSalesDataPoint(dataset: AnalyticsEngineDataset, event: SalesEvent): void {
  dataset.writeDataPoint(salesDataPoint(event));
}
