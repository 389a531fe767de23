/**
 * A D1 binding that counts what code does with it: round trips (each statement run on its own, each batch) and
 * the rows D1 reports reading and writing (`meta.rows_read`, `meta.rows_written`, what D1 bills). Statements
 * are the real ones, so the code measured runs exactly as it does behind a route. Used by tests and by bench/ (which bundles this file).
 */
export type D1Usage = { roundTrips: number; rowsRead: number; rowsWritten: number };

type Metered = D1PreparedStatement & { readonly real: D1PreparedStatement };

export function meteredD1(d1: D1Database): { db: D1Database; usage: D1Usage } {
  const usage: D1Usage = { roundTrips: 0, rowsRead: 0, rowsWritten: 0 };
  const count = (results: D1Result[]) => {
    usage.roundTrips += 1;
    for (const result of results) {
      usage.rowsRead += result.meta.rows_read;
      usage.rowsWritten += result.meta.rows_written;
    }
  };
  const wrap = (real: D1PreparedStatement): Metered =>
    ({
      real,
      bind: (...values: unknown[]) => wrap(real.bind(...values)),
      all: async () => {
        const result = await real.all();
        count([result]);
        return result;
      },
      run: async () => {
        const result = await real.run();
        count([result]);
        return result;
      },
      // first() hides the result's meta, so it is answered from all(): the same query, metered.
      first: async (column?: string) => {
        const result = await real.all<Record<string, unknown>>();
        count([result]);
        const row = result.results[0] ?? null;
        return column === undefined ? row : (row?.[column] ?? null);
      },
    }) as unknown as Metered;
  const db = {
    prepare: (query: string) => wrap(d1.prepare(query)),
    batch: async (statements: D1PreparedStatement[]) => {
      const results = await d1.batch(statements.map((s) => (s as Metered).real));
      count(results);
      return results;
    },
  } as unknown as D1Database;
  return { db, usage };
}
