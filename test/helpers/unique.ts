/** Unique names, handles and emails for fixtures (plain strings: neither HTTP nor D1). */

let sequence = 0;

/** `prefix-N-xxxxxx`: handle- and SKU-safe, and no other call in the test file returns it. */
export function unique(prefix: string): string {
  sequence += 1;
  return `${prefix}-${sequence}-${crypto.randomUUID().slice(0, 6)}`;
}

/** An email address no other test uses; `name` keeps its case, for tests of normalisation. */
export const uniqueEmail = (name = 'shopper') => `${name}.${crypto.randomUUID().slice(0, 12)}@example.com`;
