import type { Context } from 'hono';
import type { AppEnv } from './app-env';

/**
 * Adds headers to the finished response in place. Hono's `c.header()` copies the whole Response on every call
 * once a response exists, which measurably slowed every cached read. A Response passed through from `fetch()`
 * has immutable headers, and only then is the copy made.
 */
export function addResponseHeaders(
  c: Context<AppEnv>,
  headers: [name: string, value: string, append?: 'append'][],
): void {
  try {
    for (const [name, value, append] of headers) {
      if (append) c.res.headers.append(name, value);
      else c.res.headers.set(name, value);
    }
  } catch {
    for (const [name, value, append] of headers) c.header(name, value, { append: append === 'append' });
  }
}
