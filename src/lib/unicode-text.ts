/**
 * Text that stays one text wherever it is stored. A JavaScript string can hold half of a character (a lone UTF-16
 * surrogate: JSON's `"\ud83d"`, or `.slice()` through an emoji), which D1 stores one way in a TEXT column and
 * another inside a JSON one, so a product's option name would no longer match the same name in its variants.
 * Such text is refused where it comes in (createRouter's hook), and a cut here never makes it.
 */

/** A path inside a parsed value: object keys and array indexes, as a JSON Pointer names them. */
export type ValuePath = (string | number)[];

/** The path of every string in `value`, object keys included, that is not well-formed UTF-16. */
export function illFormedStrings(value: unknown, path: ValuePath = []): ValuePath[] {
  if (typeof value === 'string') return value.isWellFormed() ? [] : [path];
  if (Array.isArray(value)) return value.flatMap((item, i) => illFormedStrings(item, [...path, i]));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, item]) =>
    key.isWellFormed() ? illFormedStrings(item, [...path, key]) : [[...path, key]],
  );
}

/**
 * `text` cut to at most `maxLength` UTF-16 code units (what a schema's `.max()` counts) without splitting a
 * character: a surrogate pair the cut would halve goes whole.
 */
export function cutToLength(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text;
  const last = text.charCodeAt(maxLength - 1);
  const halvesAPair = last >= 0xd800 && last <= 0xdbff;
  return text.slice(0, halvesAPair ? maxLength - 1 : maxLength);
}
