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
  /** Where a missing translation falls back to: the region's default locale. */
  fallbackLocale: string;
  catalogVersion: string;
};
