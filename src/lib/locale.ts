/**
 * Picks the response locale from an Accept-Language header among the locales a region offers (RFC 9110 §12.5.4):
 * ranges by q, and for each the offered locale sharing the most leading subtags with it (`zh-Hant-TW` takes
 * `zh-Hant` before `zh-Hans`; a language range `de` also matches `de-AT` and vice versa). Of locales sharing as
 * many, the one the header names first (the range itself, or `en-GB` for `en-AU` in `en-AU, en-GB;q=0.9`, before
 * `en-US`), then the region's first; never one the header refuses (`q=0`), by name or by a range of its language
 * that no more specific range overrides (`de-CH, de;q=0` takes no `de-DE`).
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
      // A q that is no number (`q=`, `q=x`) is no refusal: the range is left out, as one never sent.
      const quality = q ? Number(q.slice(2) || Number.NaN) : 1;
      return { tag: tag.trim().toLowerCase(), quality, index };
    })
    .filter((r) => r.tag && r.tag !== '*' && Number.isFinite(r.quality));
  const ranges = weighed
    .filter((r) => r.quality > 0)
    .sort((a, b) => b.quality - a.quality || a.index - b.index)
    .map((r) => r.tag);
  // Where the header first names each offered locale (after every range when it does not), found once: a header
  // of thousands of ranges must not cost thousands of searches per range.
  const candidates = offered.flatMap((locale, index) => {
    const tag = locale.toLowerCase();
    const named = ranges.indexOf(tag);
    return refuses(weighed, tag) ? [] : [{ locale, index, tag, named: named === -1 ? ranges.length : named }];
  });
  for (const range of ranges) {
    const match = closestLocale(range, candidates);
    if (match) return match;
  }
  return undefined;
}

type Candidate = { locale: string; index: number; tag: string; named: number };

/**
 * Whether the header refuses `tag`: q=0 says "not this one", and the most specific range that matches a tag (the
 * tag itself, or a prefix of its subtags: `de` matches `de-de`) gives its q (RFC 9110 §12.5.4), so `de;q=0`
 * refuses `de-DE` unless a range such as `de-DE` accepts it.
 */
function refuses(weighed: { tag: string; quality: number }[], tag: string): boolean {
  let closest: { tag: string; quality: number } | undefined;
  for (const range of weighed) {
    const matches = tag === range.tag || tag.startsWith(`${range.tag}-`);
    if (matches && (!closest || range.tag.length > closest.tag.length)) closest = range;
  }
  return closest !== undefined && closest.quality <= 0;
}

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
