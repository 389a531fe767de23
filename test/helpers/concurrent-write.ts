/** Deterministic races: another request's write landing between a service's up-front checks and its batch. */
import { env } from 'cloudflare:workers';

/**
 * The Worker env with a D1 that runs `concurrent` (another request's write) just before the batch that deletes
 * from `table`: after the service's up-front checks have read the rows, before its own write commits.
 */
export function writeLandsBeforeBatch(table: string, concurrent: () => Promise<unknown>): Env {
  let armed = false;
  const DB = new Proxy(env.DB, {
    get(target, property) {
      if (property === 'prepare') {
        return (query: string) => {
          armed ||= query.startsWith(`delete from "${table}"`);
          return target.prepare(query);
        };
      }
      if (property === 'batch') {
        return async (statements: D1PreparedStatement[]) => {
          if (armed) {
            armed = false;
            await concurrent();
          }
          return target.batch(statements);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { ...env, DB };
}
