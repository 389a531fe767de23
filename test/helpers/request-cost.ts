/** What a response says about its own cost and cache status (src/middleware/request-context.ts). */
import { expect } from 'vitest';

/** Server-Timing metrics by name: the `desc` of each, or its `dur` when it has no description. */
export function serverTiming(res: Response): Record<string, string> {
  const header = res.headers.get('Server-Timing') ?? '';
  return Object.fromEntries(
    header.split(', ').map((metric) => {
      const [name, ...params] = metric.split(';');
      const param = (key: string) => params.find((p) => p.startsWith(`${key}=`))?.slice(key.length + 1);
      return [name, (param('desc') ?? param('dur') ?? '').replace(/^"|"$/g, '')];
    }),
  );
}

export type D1Cost = { queries: number; rowsRead: number; rowsWritten: number };

/** The D1 round trips and rows a response reports. */
export function d1CostOf(res: Response): D1Cost {
  const metrics = serverTiming(res);
  return {
    queries: Number(metrics.d1_queries),
    rowsRead: Number(metrics.d1_rows_read),
    rowsWritten: Number(metrics.d1_rows_written),
  };
}

/** The edge cache's verdict on a response (HIT, MISS, COALESCED, BYPASS), as Server-Timing states it. */
export const cacheStatusOf = (res: Response) => serverTiming(res).cache;

/** The JSON lines a console method was called with. */
export function logLines(spy: { mock: { calls: unknown[][] } }): Record<string, unknown>[] {
  return spy.mock.calls
    .map(([line]) => String(line))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The one request line logged for a response, matched by its request id. */
export function requestLineOf(spy: { mock: { calls: unknown[][] } }, res: Response): Record<string, unknown> {
  const lines = logLines(spy).filter(
    (line) => line.msg === 'request' && line.request_id === res.headers.get('X-Request-Id'),
  );
  expect(lines).toHaveLength(1);
  return lines[0] as Record<string, unknown>;
}
