// SQL literals for the statements scripts hand to `wrangler d1 execute`. No imports, so the Workers runtime can
// import it too (the owner-invite test does).

/** A SQL string literal. */
export function sqlText(value) {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number' || typeof value === 'boolean') return String(Number(value));
  return `'${String(value).replaceAll("'", "''")}'`;
}
