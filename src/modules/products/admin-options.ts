/** Rules tying a variant's option values to its product's option names. */

/** Why `values` does not name exactly the product's `names`, or undefined when it does. */
export function optionsMismatch(names: string[], values: Record<string, string>): string | undefined {
  const missing = names.filter((name) => !Object.hasOwn(values, name));
  const unknown = Object.keys(values).filter((key) => !names.includes(key));
  if (missing.length === 0 && unknown.length === 0) return undefined;
  const parts = [
    ...(missing.length > 0 ? [`missing ${missing.join(', ')}`] : []),
    ...(unknown.length > 0 ? [`not options of the product: ${unknown.join(', ')}`] : []),
  ];
  return `Give a value for each product option (${names.join(', ') || 'none'}); ${parts.join('; ')}`;
}

/** A key equal for two variants exactly when they carry the same option values. */
export function optionsKey(values: Record<string, string>): string {
  return JSON.stringify(Object.entries(values).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
