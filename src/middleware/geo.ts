/**
 * Decides the storefront context at the edge: the region from the shopper's country (`request.cf.country`), the
 * locale from Accept-Language among that region's locales. Explicit `region` and `locale` query parameters win,
 * which is also how local development picks a country (offline `wrangler dev` reports a fixed placeholder).
 * When neither decides, the publishable key's default region does, then DEFAULT_REGION.
 */
import { createMiddleware } from 'hono/factory';
import type { StoreEnv } from '../lib/app-env';
import { cacheVersions } from '../lib/cache-versions';
import { AppError } from '../lib/errors';
import { localeChainOf, negotiateLocale } from '../lib/locale';
import { getRegionDirectory } from '../lib/region-directory';
import { cutToLength } from '../lib/unicode-text';
import { timed } from './request-context';

/**
 * What a client told the store has no region waits before asking again. Staff create regions in minutes, not
 * seconds (the directory sees a new one within a second of its write), and a shorter wait would only have every
 * storefront page poll a store that cannot sell yet.
 */
const NO_REGION_RETRY_AFTER_SECONDS = 60;

export function geo() {
  return createMiddleware<StoreEnv>(async function geo(c, next) {
    // Both are plain values on a cache hit (remembered by the isolate); only a read returns a promise, and only
    // a read is timed for Server-Timing.
    const timings = c.get('timings');
    const remembered = cacheVersions(c.env.DB, c.executionCtx);
    const versions =
      remembered instanceof Promise ? await timed(timings, 'versions', () => remembered) : remembered;
    const known = getRegionDirectory(c.env.DB, versions);
    const directory = known instanceof Promise ? await timed(timings, 'regions', () => known) : known;

    const cfCountry = c.req.raw.cf?.country;
    const country = typeof cfCountry === 'string' && /^[A-Z]{2}$/.test(cfCountry) ? cfCountry : null;

    const requestedRegion = c.req.query('region');
    const keyRegion = c.get('publishableKey')?.defaultRegion;
    const region = requestedRegion
      ? directory.byCode.get(requestedRegion)
      : ((country ? directory.byCountry.get(country) : undefined) ??
        (keyRegion ? directory.byCode.get(keyRegion) : undefined) ??
        directory.byCode.get(c.env.DEFAULT_REGION));
    if (!region) {
      throw requestedRegion
        ? new AppError(422, 'unknown_region', `There is no region "${cutToLength(requestedRegion, 32)}".`, {
            errors: [
              { pointer: '/query/region', message: `Use one of: ${[...directory.byCode.keys()].join(', ')}` },
            ],
          })
        : new AppError(503, 'no_region_configured', 'The store has no region to sell in yet.', {
            headers: { 'Retry-After': String(NO_REGION_RETRY_AFTER_SECONDS) },
          });
    }

    const requestedLocale = c.req.query('locale');
    if (requestedLocale && !region.locales.includes(requestedLocale)) {
      throw new AppError(
        422,
        'unsupported_locale',
        `Region "${region.code}" is not offered in that locale.`,
        {
          errors: [{ pointer: '/query/locale', message: `Use one of: ${region.locales.join(', ')}` }],
        },
      );
    }
    const locale =
      requestedLocale ??
      negotiateLocale(c.req.header('Accept-Language'), region.locales) ??
      region.locales[0] ??
      'en';
    const localeChain = localeChainOf(locale, region.locales);

    c.set('store', { country, region, locale, localeChain, versions });
    await next();
  });
}
