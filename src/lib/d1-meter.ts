/**
 * What a request (or a job) costs in D1, counted once at the binding: every statement run through a metered
 * database adds a round trip, and the rows D1 says it read and wrote (`meta.rows_read`, `meta.rows_written`; a
 * batch is one round trip with a meta per statement). D1 bills by rows, so these are the numbers that matter.
 *
 * Services keep taking `env.DB` (or `createDb(env.DB)`); the request's env simply holds a metered database
 * (src/middleware/request-context.ts, src/jobs/run-job.ts), so no signature knows about the meter.
 *
 * D1 returns no metadata from `raw()` (what drizzle uses for selects and `.returning()`) and `exec()`: their
 * round trips are counted, their rows cannot be, and `unreported` says how many such calls there were, so a
 * row count is never presented as complete when it is not. `first()` is answered through `all()`, which D1
 * runs identically (same query, whole result) and which does carry the metadata.
 */

export class D1Meter {
  /** Round trips to D1: one per statement run, one per batch. */
  queries = 0;
  rowsRead = 0;
  rowsWritten = 0;
  /** Round trips whose rows D1 did not report (`raw()`, `exec()`). */
  unreported = 0;

  record(meta: D1Meta | undefined): void {
    this.rowsRead += meta?.rows_read ?? 0;
    this.rowsWritten += meta?.rows_written ?? 0;
  }
}

class MeteredStatement implements D1PreparedStatement {
  constructor(
    readonly inner: D1PreparedStatement,
    private readonly meter: D1Meter,
  ) {}

  bind(...values: unknown[]): D1PreparedStatement {
    return new MeteredStatement(this.inner.bind(...values), this.meter);
  }

  first<T = unknown>(colName: string): Promise<T | null>;
  first<T = Record<string, unknown>>(): Promise<T | null>;
  async first<T>(colName?: string): Promise<T | null> {
    const { results } = await this.all<Record<string, unknown>>();
    const row = results[0];
    if (!row) return null;
    if (colName === undefined) return row as T;
    // The same refusal D1's own first(colName) gives.
    if (row[colName] === undefined) throw new Error(`D1_COLUMN_NOTFOUND: Column not found (${colName})`);
    return row[colName] as T;
  }

  async run<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    this.meter.queries++;
    const result = await this.inner.run<T>();
    this.meter.record(result.meta);
    return result;
  }

  async all<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    this.meter.queries++;
    const result = await this.inner.all<T>();
    this.meter.record(result.meta);
    return result;
  }

  raw<T = unknown[]>(options: { columnNames: true }): Promise<[string[], ...T[]]>;
  raw<T = unknown[]>(options?: { columnNames?: false }): Promise<T[]>;
  raw<T = unknown[]>(options?: { columnNames?: boolean }): Promise<T[] | [string[], ...T[]]> {
    this.meter.queries++;
    this.meter.unreported++;
    return options?.columnNames
      ? this.inner.raw<T>({ columnNames: true })
      : this.inner.raw<T>({ columnNames: false });
  }
}

/** The platform's statement under a metered one; a statement prepared elsewhere passes as it is. */
function unwrap(statement: D1PreparedStatement): D1PreparedStatement {
  return statement instanceof MeteredStatement ? statement.inner : statement;
}

/** Anything statements can be prepared on and batched through: a database or one of its sessions. */
type Queryable = Pick<D1Database, 'prepare' | 'batch'>;

function prepareOn(target: Queryable, meter: D1Meter, query: string): D1PreparedStatement {
  return new MeteredStatement(target.prepare(query), meter);
}

async function batchOn<T>(
  target: Queryable,
  meter: D1Meter,
  statements: D1PreparedStatement[],
): Promise<D1Result<T>[]> {
  meter.queries++;
  const results = await target.batch<T>(statements.map(unwrap));
  for (const result of results) meter.record(result.meta);
  return results;
}

class MeteredSession implements D1DatabaseSession {
  constructor(
    private readonly session: D1DatabaseSession,
    private readonly meter: D1Meter,
  ) {}

  prepare(query: string): D1PreparedStatement {
    return prepareOn(this.session, this.meter, query);
  }

  batch<T = unknown>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]> {
    return batchOn<T>(this.session, this.meter, statements);
  }

  getBookmark(): D1SessionBookmark | null {
    return this.session.getBookmark();
  }
}

class MeteredDatabase implements D1Database {
  constructor(
    private readonly d1: D1Database,
    private readonly meter: D1Meter,
  ) {}

  prepare(query: string): D1PreparedStatement {
    return prepareOn(this.d1, this.meter, query);
  }

  batch<T = unknown>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]> {
    return batchOn<T>(this.d1, this.meter, statements);
  }

  exec(query: string): Promise<D1ExecResult> {
    this.meter.queries++;
    this.meter.unreported++;
    return this.d1.exec(query);
  }

  withSession(constraintOrBookmark?: D1SessionBookmark | D1SessionConstraint): D1DatabaseSession {
    return new MeteredSession(this.d1.withSession(constraintOrBookmark), this.meter);
  }

  dump(): Promise<ArrayBuffer> {
    return this.d1.dump();
  }
}

/** `d1` with every statement, batch and session counted into `meter`. */
export function meteredDatabase(d1: D1Database, meter: D1Meter): D1Database {
  return new MeteredDatabase(d1, meter);
}

/**
 * The meter's figures as log fields (and Server-Timing metrics); `d1_unreported` only when some round trip's rows
 * are missing from the counts.
 */
export function costFields(meter: D1Meter): Record<string, number> {
  const fields: Record<string, number> = {
    d1_queries: meter.queries,
    d1_rows_read: meter.rowsRead,
    d1_rows_written: meter.rowsWritten,
  };
  if (meter.unreported > 0) fields.d1_unreported = meter.unreported;
  return fields;
}
