/**
 * Picks the response locale from an Accept-Language header among the locales a region offers (RFC 9110 §12.5.4):
 * ranges by q, and for each the offered locale sharing the most leading subtags with it (`zh-Hant-TW` takes
 * `zh-Hant` before `zh-Hans`; a language range `de` also matches `de-AT` and vice versa). Of locales sharing as
 * many, the one the header names first (the range itself, or `en-GB` for `en-AU` in `en-AU, en-GB;q=0.9`, before
 * `en-US`), then the region's first; never one the header refuses by name (`q=0`).
 *
 * @example negotiateLocale('fr-CH, de;q=0.8, *;q=0.1', ['de', 'en']) // 'de'
 */
export function negotiateLocale(header: string | undefined, offered: string[]): string | undefined {
  if (!header) return undefined;
  const weighed = header
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      const quality = q ? Number(q.slice(2)) : 1;
      return { tag: tag.trim().toLowerCase(), quality: Number.isFinite(quality) ? quality : 0, index };
    })
    .filter((r) => r.tag && r.tag !== '*');
  const ranges = weighed
    .filter((r) => r.quality > 0)
    .sort((a, b) => b.quality - a.quality || a.index - b.index)
    .map((r) => r.tag);
  // q=0 says "not this one": a locale the header refuses by name is no match for another range of its language.
  const refused = new Set(weighed.filter((r) => r.quality <= 0).map((r) => r.tag));
  // Where the header first names each offered locale (after every range when it does not), found once: a header
  // of thousands of ranges must not cost thousands of searches per range.
  const candidates = offered.flatMap((locale, index) => {
    const tag = locale.toLowerCase();
    const named = ranges.indexOf(tag);
    return refused.has(tag) ? [] : [{ locale, index, tag, named: named === -1 ? ranges.length : named }];
  });
  for (const range of ranges) {
    const match = closestLocale(range, candidates);
    if (match) return match;
  }
  return undefined;
}

type Candidate = { locale: string; index: number; tag: string; named: number };

/** How many leading subtags two lower-cased tags share (`zh-hant-tw`, `zh-hant` -> 2). */
function sharedSubtags(a: string, b: string): number {
  const [as, bs] = [a.split('-'), b.split('-')];
  let shared = 0;
  while (shared < as.length && as[shared] === bs[shared]) shared++;
  return shared;
}

/**
 * The offered locale closest to `range`, as negotiateLocale orders them; undefined when none shares its language.
 * The range itself is named where it stands, and a locale that a preferred range names was that range's match.
 */
function closestLocale(range: string, candidates: Candidate[]): string | undefined {
  let closest: (Candidate & { shared: number }) | undefined;
  for (const candidate of candidates) {
    const shared = sharedSubtags(range, candidate.tag);
    if (shared === 0) continue;
    const closer =
      !closest || shared > closest.shared || (shared === closest.shared && candidate.named < closest.named);
    if (closer) closest = { ...candidate, shared };
  }
  return closest?.locale;
}

/**
 * The order in which translations are tried: `locale`, then the region's other locales in the region's order.
 *
 * @example localeChainOf('en', ['de', 'en', 'fr']) // ['en', 'de', 'fr']
 */
export function localeChainOf(locale: string, regionLocales: string[]): string[] {
  return [locale, ...regionLocales.filter((l) => l !== locale)];
}
