import { AppError } from '../../lib/errors';

const MAX_TERMS = 8;

/**
 * Turns what a shopper typed into a safe FTS5 query: every run of letters/digits becomes a quoted term (so FTS5
 * operators and quotes in the input are plain text), all terms must match, and the last one matches as a prefix
 * so results appear while typing.
 *
 * @example toFtsQuery('Linen "shirt" AND (blue') // '"linen" "shirt" "and" "blue"*'
 */
export function toFtsQuery(input: string): string {
  const terms = (input.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).slice(0, MAX_TERMS);
  if (terms.length === 0) {
    throw new AppError(422, 'validation_failed', 'The request has invalid fields.', {
      errors: [{ pointer: '/query/q', message: 'Search needs at least one letter or digit' }],
    });
  }
  return terms.map((t, i) => `"${t}"${i === terms.length - 1 ? '*' : ''}`).join(' ');
}
