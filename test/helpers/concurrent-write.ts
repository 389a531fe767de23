/** Deterministic races: another request's write landing between a service's up-front checks and its batch. */
import { env } from 'cloudflare:workers';

type Write = 'delete from' | 'insert into' | 'update';

/**
 * The Worker env with a D1 that runs `concurrent` (another request's write) once, just before the first batch that
 * deletes from `table` (or inserts into it, or updates it, as `write` says): after the service's up-front checks
 * have read the rows, before its own write commits. Later batches of the service (a checkout that went on, its
 * undo) run as they are. Sessions opened on it do the same, so it works through the app too (a request routes
 * its queries through one session, src/lib/d1-session.ts). With `times`, it lands before that many such batches
 * (a service that retries its batch meets the other write again each time).
 */
export function writeLandsBeforeBatch(
  table: string,
  concurrent: () => Promise<unknown>,
  write: Write = 'delete from',
  times = 1,
): Env {
  let left = times;
  let armed = false;
  const intercept = <T extends D1Database | D1DatabaseSession>(d1: T): T =>
    new Proxy(d1, {
      get(target, property) {
        if (property === 'prepare') {
          return (query: string) => {
            if (left > 0 && query.startsWith(`${write} "${table}"`)) armed = true;
            return target.prepare(query);
          };
        }
        if (property === 'batch') {
          return async (statements: D1PreparedStatement[]) => {
            if (armed) {
              armed = false;
              left--;
              await concurrent();
            }
            return target.batch(statements);
          };
        }
        if (property === 'withSession') {
          return (constraint?: D1SessionBookmark | D1SessionConstraint) =>
            intercept((target as D1Database).withSession(constraint));
        }
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  return { ...env, DB: intercept(env.DB) };
}
