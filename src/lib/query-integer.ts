/**
 * Integer query parameters. `z.coerce.number()` reads a query value with `Number()`, which turns an empty value
 * (`?price_max=`) or a blank one into 0 and takes `1e3` or `0x10` as numbers: a client's broken URL would be
 * answered as a real filter (`price_max=0`: free products only). Here only an optionally signed run of decimal
 * digits is a number; anything else is a 422 at the parameter.
 */
import { z } from '@hono/zod-openapi';

const DECIMAL_INTEGER = /^-?\d+$/;

/**
 * An integer query parameter from `min` to `max`. The document still says `type: integer` with the bounds: the
 * preprocess step converts, the number schema validates and is what OpenAPI renders.
 */
export function queryInteger(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z.preprocess(
    (value) => (typeof value === 'string' && DECIMAL_INTEGER.test(value) ? Number(value) : value),
    z
      .number({
        error: (issue) => (issue.code === 'invalid_type' ? 'Use an integer in decimal digits' : undefined),
      })
      .int()
      .min(min)
      .max(max),
  );
}
