import { describe, expect, it } from 'vitest';
import { negotiateLocale } from '../../src/lib/locale';

describe('negotiateLocale', () => {
  it('picks the highest q among offered locales', () => {
    expect(negotiateLocale('fr;q=0.5, de;q=0.9, en;q=0.8', ['de', 'en', 'fr'])).toBe('de');
  });

  it('matches a regional tag to its primary language', () => {
    expect(negotiateLocale('de-AT', ['de', 'en'])).toBe('de');
  });

  it('keeps header order for equal q and skips q=0 and *', () => {
    expect(negotiateLocale('*, it, en;q=0, fr', ['en', 'fr'])).toBe('fr');
  });

  it('matches the most subtags of a range, so Traditional Chinese asked for is not answered in Simplified', () => {
    // Only the primary language was compared: zh-Hant-TW got the first zh locale offered, zh-Hans.
    expect(negotiateLocale('zh-Hant-TW', ['zh-Hans', 'zh-Hant'])).toBe('zh-Hant');
    expect(negotiateLocale('zh-Hant-TW, en;q=0.5', ['en', 'zh-Hans-CN', 'zh-Hant-HK'])).toBe('zh-Hant-HK');
  });

  it('among locales of the range’s language, takes one the header names before the first offered', () => {
    // An Australian shopper who also accepts en-GB got en-US, the region's first English.
    expect(negotiateLocale('en-AU, en-GB;q=0.9, en;q=0.8', ['en-US', 'en-GB'])).toBe('en-GB');
    expect(negotiateLocale('pt-AO, pt-PT;q=0.9', ['pt-BR', 'pt-PT'])).toBe('pt-PT');
    // A language the shopper prefers still wins over another one named exactly.
    expect(negotiateLocale('de-CH, fr;q=0.9', ['de-DE', 'fr'])).toBe('de-DE');
    expect(negotiateLocale('de, de-AT;q=0.5', ['de-DE', 'de-AT', 'de'])).toBe('de');
  });

  it('never takes a locale the header refuses (q=0) for another range of its language', () => {
    // en-US;q=0 was left out of the ranges, but en-AU's language match still took en-US, refused by name.
    expect(negotiateLocale('en-AU, en-US;q=0', ['en-US', 'en-GB'])).toBe('en-GB');
    expect(negotiateLocale('de-CH, de-DE;q=0', ['de-DE', 'fr'])).toBeUndefined();
  });

  it('never takes a locale whose most specific range in the header refuses it (q=0), named or not', () => {
    // de;q=0 refuses every German but one a more specific range accepts; de-CH's language match still took de-DE.
    expect(negotiateLocale('de-CH, de;q=0', ['de-DE', 'fr'])).toBeUndefined();
    expect(negotiateLocale('en-AU, en;q=0, en-GB;q=0.5', ['en-US', 'en-GB'])).toBe('en-GB');
    // A more specific range than the refusal still accepts its own.
    expect(negotiateLocale('de;q=0, de-AT', ['de', 'de-AT'])).toBe('de-AT');
    // A q that is no number refuses nothing: the range is left out.
    expect(negotiateLocale('de-CH, de;q=x, fr;q=', ['de-DE', 'fr'])).toBe('de-DE');
  });

  it('answers undefined when nothing matches or there is no header', () => {
    expect(negotiateLocale('it, es', ['de', 'en'])).toBeUndefined();
    expect(negotiateLocale(undefined, ['de'])).toBeUndefined();
  });
});
