/**
 * Picks the response locale from an Accept-Language header among the locales a region offers
 * (RFC 9110 §12.5.4: ordered by q, a language range `de` also matches `de-AT` and vice versa by primary tag).
 *
 * @example negotiateLocale('fr-CH, de;q=0.8, *;q=0.1', ['de', 'en']) // 'de'
 */
export function negotiateLocale(header: string | undefined, offered: string[]): string | undefined {
  if (!header) return undefined;
  const ranges = header
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      const quality = q ? Number(q.slice(2)) : 1;
      return { tag: tag.trim().toLowerCase(), quality: Number.isFinite(quality) ? quality : 0, index };
    })
    .filter((r) => r.tag && r.tag !== '*' && r.quality > 0)
    .sort((a, b) => b.quality - a.quality || a.index - b.index);
  for (const { tag } of ranges) {
    const exact = offered.find((o) => o.toLowerCase() === tag);
    if (exact) return exact;
    const primary = tag.split('-')[0];
    const partial = offered.find((o) => o.toLowerCase().split('-')[0] === primary);
    if (partial) return partial;
  }
  return undefined;
}

/**
 * The order in which translations are tried: `locale`, then the region's other locales in the region's order.
 *
 * @example localeChainOf('en', ['de', 'en', 'fr']) // ['en', 'de', 'fr']
 */
export function localeChainOf(locale: string, regionLocales: string[]): string[] {
  return [locale, ...regionLocales.filter((l) => l !== locale)];
}
