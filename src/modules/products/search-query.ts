import { AppError } from '../../lib/errors';

const MAX_TERMS = 8;

/**
 * A word: a letter or digit, then letters, digits and the combining marks written on them. A mark is part of the
 * word it sits on, as the index's tokenizer (unicode61, remove_diacritics 2) reads it: splitting there would turn
 * `Cre\u0300me` into two words the index never saw. Whatever in the term the index does not count as a word
 * character still splits it there, inside the quoted term, into a phrase of the index's own words.
 */
const WORD = /[\p{L}\p{N}][\p{L}\p{M}\p{N}]*/gu;

/**
 * Turns what a shopper typed into a safe FTS5 query: every word becomes a quoted term (so FTS5 operators and
 * quotes in the input are plain text), all terms must match, and the last one matches as a prefix so results
 * appear while typing. The text is composed (NFC) first, so a keyboard that sends `e` + U+0300 and one that
 * sends `è` type the same words.
 *
 * @example toFtsQuery('Linen "shirt" AND (blue') // '"linen" "shirt" "and" "blue"*'
 */
export function toFtsQuery(input: string): string {
  const terms = (input.normalize('NFC').toLowerCase().match(WORD) ?? []).slice(0, MAX_TERMS);
  if (terms.length === 0) {
    throw new AppError(422, 'validation_failed', 'The request has invalid fields.', {
      errors: [{ pointer: '/query/q', message: 'Search needs at least one letter or digit' }],
    });
  }
  return terms.map((t, i) => `"${t}"${i === terms.length - 1 ? '*' : ''}`).join(' ');
}
