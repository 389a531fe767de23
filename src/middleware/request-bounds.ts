/**
 * Bounds the work any request can cause before a route validates it: the URL's length (414) and the number of
 * query parameters (422). Everything after this point (edge-cache keys, validators, the logger) handles the URL
 * in time proportional to its size, and this makes that size small for every route.
 */
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../lib/app-env';
import { AppError } from '../lib/errors';

/**
 * The longest URL answered, in characters, scheme and host included. The longest legitimate one (a product
 * search with every filter: 200 characters of text, 10 options of up to 193, two handles, a 512-character
 * cursor) is about 3,100 ASCII characters; 8 KB leaves room for percent-encoded non-ASCII text and is the common
 * request-line limit of web servers (nginx, Apache), so no client that works elsewhere is refused here.
 */
export const MAX_URL_LENGTH = 8192;

/**
 * The most query parameters answered. The widest route (the storefront product list) accepts 11 named
 * parameters plus up to 10 `option` filters; 64 is three times that, and small enough that no per-parameter
 * work can add up to anything.
 */
export const MAX_QUERY_PARAMETERS = 64;

/**
 * How many parameters the query holds. Counting separators bounds it from above without parsing, so the usual
 * request (a cache hit on the hot path) pays one scan; only a query that might be over the limit is parsed, to
 * count exactly as the validators will (empty `&&` segments are not parameters).
 */
function queryParameterCount(url: string): number {
  const query = url.indexOf('?');
  if (query === -1) return 0;
  let separators = 0;
  for (let i = url.indexOf('&', query); i !== -1; i = url.indexOf('&', i + 1)) separators++;
  return separators < MAX_QUERY_PARAMETERS ? separators + 1 : new URL(url).searchParams.size;
}

export function requestBounds() {
  return createMiddleware<AppEnv>(async function requestBounds(c, next) {
    const url = c.req.url;
    if (url.length > MAX_URL_LENGTH) {
      throw new AppError(414, 'uri_too_long', `The URL exceeds ${MAX_URL_LENGTH} characters.`);
    }
    const count = queryParameterCount(url);
    if (count > MAX_QUERY_PARAMETERS) {
      throw new AppError(
        422,
        'too_many_query_parameters',
        `The request has ${count} query parameters; at most ${MAX_QUERY_PARAMETERS} are accepted.`,
        {
          errors: [{ pointer: '/query', message: `Send at most ${MAX_QUERY_PARAMETERS} query parameters.` }],
        },
      );
    }
    await next();
  });
}
