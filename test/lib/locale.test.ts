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

  it('answers undefined when nothing matches or there is no header', () => {
    expect(negotiateLocale('it, es', ['de', 'en'])).toBeUndefined();
    expect(negotiateLocale(undefined, ['de'])).toBeUndefined();
  });
});
