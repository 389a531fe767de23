/**
 * The one rule for an email address edgecart stores, sends to, or carries in an event: zod's address pattern,
 * except that the top-level domain may be an internationalized one in the ASCII form DNS and SMTP use
 * (`ivan@shop.xn--p1ai` is .рф), which zod's own pattern refuses with its letters-only TLD. A browser's
 * `<input type="email">` takes those addresses, so a storefront would send them.
 */
import { z } from '@hono/zod-openapi';

const EMAIL_PATTERN =
  /^(?:[A-Za-z0-9_'+-]+\.)*[A-Za-z0-9_'+-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9-]*\.)+(?:[A-Za-z]{2,}|xn--[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)$/i;

/** RFC 5321's limit is 254; the schema's bound, wider, keeps every address stored before it was tightened valid. */
const MAX_EMAIL_LENGTH = 320;

/** An address as stored: valid as it stands (event payloads, rows read back). */
export const emailAddress = () => z.email({ pattern: EMAIL_PATTERN });

/** An address as a client sends it: trimmed, checked, lowercased. */
export const Email = z
  .string()
  .trim()
  .max(MAX_EMAIL_LENGTH)
  .pipe(emailAddress())
  .transform((e) => e.toLowerCase())
  .openapi({ example: 'ada@example.com' });
