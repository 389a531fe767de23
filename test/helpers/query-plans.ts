/**
 * What a read asks of D1, and how SQLite answers it: the statements a read function runs, each with its
 * EXPLAIN QUERY PLAN. The read runs against the real D1, through a database that only notes each statement's SQL
 * and bound values on their way (nothing is faked or changed), so the plans are those of the queries the endpoint
 * builds, whatever shape (builder, batch) the read gives them.
 */
import { env } from 'cloudflare:workers';

export type Statement = { sql: string; params: unknown[] };

class NotedStatement implements D1PreparedStatement {
  constructor(
    readonly inner: D1PreparedStatement,
    private readonly noted: Statement,
    private readonly log: Statement[],
  ) {}

  bind(...values: unknown[]): D1PreparedStatement {
    return new NotedStatement(this.inner.bind(...values), { sql: this.noted.sql, params: values }, this.log);
  }

  /** Notes the statement as run (a batch runs the inner statement itself). */
  ran(): void {
    this.log.push(this.noted);
  }

  first<T = unknown>(colName: string): Promise<T | null>;
  first<T = Record<string, unknown>>(): Promise<T | null>;
  first<T>(colName?: string): Promise<T | null> {
    this.ran();
    return colName === undefined ? this.inner.first<T>() : this.inner.first<T>(colName);
  }

  run<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    this.ran();
    return this.inner.run<T>();
  }

  all<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    this.ran();
    return this.inner.all<T>();
  }

  raw<T = unknown[]>(options: { columnNames: true }): Promise<[string[], ...T[]]>;
  raw<T = unknown[]>(options?: { columnNames?: false }): Promise<T[]>;
  raw<T = unknown[]>(options?: { columnNames?: boolean }): Promise<T[] | [string[], ...T[]]> {
    this.ran();
    return options?.columnNames
      ? this.inner.raw<T>({ columnNames: true })
      : this.inner.raw<T>({ columnNames: false });
  }
}

/** The real D1, noting each statement run on it (alone or in a batch) into `log`. */
function notingDatabase(d1: D1Database, log: Statement[]): D1Database {
  return {
    prepare: (query: string) => new NotedStatement(d1.prepare(query), { sql: query, params: [] }, log),
    batch: <T>(statements: D1PreparedStatement[]) =>
      d1.batch<T>(
        statements.map((statement) => {
          if (!(statement instanceof NotedStatement)) return statement;
          statement.ran();
          return statement.inner;
        }),
      ),
    exec: (query: string) => d1.exec(query),
    withSession: () => {
      throw new Error('a noted read runs on the database itself');
    },
    dump: () => d1.dump(),
  };
}

/** SQLite's plan for `statement`: one line per step (`SEARCH t USING INDEX ...`, `SCAN t`, `USE TEMP B-TREE ...`). */
export async function planOf(statement: Statement): Promise<string[]> {
  const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${statement.sql}`)
    .bind(...statement.params)
    .all<{ detail: string }>();
  return results.map((r) => r.detail);
}

/** The statements `read` ran on D1, in order, and what it returned. */
export async function statementsOf<T>(
  read: (d1: D1Database) => Promise<T>,
): Promise<{ result: T; statements: Statement[] }> {
  const statements: Statement[] = [];
  const result = await read(notingDatabase(env.DB, statements));
  return { result, statements };
}

/** The statements `read` ran on D1, in order, with the plan of each. */
export async function plansOf(
  read: (d1: D1Database) => Promise<unknown>,
): Promise<(Statement & { plan: string[] })[]> {
  const { statements } = await statementsOf(read);
  return Promise.all(statements.map(async (statement) => ({ ...statement, plan: await planOf(statement) })));
}

/**
 * What `read` returned and the rows D1 read for it: each of its statements run again alone through `all()`, which
 * reports them (drizzle's selects go through `raw()`, which does not, so Server-Timing cannot count them).
 */
export async function rowsReadBy<T>(
  read: (d1: D1Database) => Promise<T>,
): Promise<{ result: T; rowsRead: number }> {
  const { result, statements } = await statementsOf(read);
  let rowsRead = 0;
  for (const { sql, params } of statements) {
    rowsRead += (
      await env.DB.prepare(sql)
        .bind(...params)
        .all()
    ).meta.rows_read;
  }
  return { result, rowsRead };
}
