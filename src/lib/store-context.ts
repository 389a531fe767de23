import type { CacheVersions } from './cache-versions';

/** What the edge decided about the shopper: where they are, which region sells to them, in which language. */
export type RegionInfo = {
  id: string;
  code: string;
  name: string;
  currencyCode: string;
  taxRateBps: number;
  pricesIncludeTax: boolean;
  /** Ordered; the first is the region's default locale. */
  locales: string[];
  countries: string[];
};

export type StoreContext = {
  /** ISO 3166-1 alpha-2 country of the shopper, as the edge saw it (null when unknown). */
  country: string | null;
  region: RegionInfo;
  /** The locale responses are written in. */
  locale: string;
  /**
   * The order in which translations are tried: the response locale, then the region's other locales in the
   * region's order. Content missing in all of them falls back to whatever translation exists.
   */
  localeChain: string[];
  /** The cache versions this request was keyed and read at (src/lib/cache-versions.ts). */
  versions: CacheVersions;
};

/** The storefront a publishable key (`X-Publishable-Api-Key`) names, and its default region. */
export type PublishableKey = { id: string; defaultRegion: string | null };
