import { describe, expect, it } from 'vitest';
import { formatMoney, minorUnits, taxBreakdown } from '../../src/lib/money';

describe('minorUnits', () => {
  it('knows zero-, two- and three-decimal currencies', () => {
    expect(minorUnits('JPY')).toBe(0);
    expect(minorUnits('EUR')).toBe(2);
    expect(minorUnits('KWD')).toBe(3);
  });

  it('rejects codes that are not ISO 4217 shaped', () => {
    expect(minorUnits('eur')).toBeUndefined();
    expect(minorUnits('EURO')).toBeUndefined();
  });
});

describe('taxBreakdown', () => {
  it('splits a tax-inclusive price so net + tax = gross', () => {
    expect(taxBreakdown(1190, 1900, true)).toStrictEqual({
      amount: 1190,
      taxAmount: 190,
      amountExcludingTax: 1000,
      amountIncludingTax: 1190,
    });
  });

  it('adds tax to a tax-exclusive price, rounding half up', () => {
    // 1000 * 8.25% = 82.5 -> 83
    expect(taxBreakdown(1000, 825, false)).toStrictEqual({
      amount: 1000,
      taxAmount: 83,
      amountExcludingTax: 1000,
      amountIncludingTax: 1083,
    });
  });

  it('handles zero-decimal currencies in whole units', () => {
    // 1500 yen incl. 10%: net = 1363.63.. -> 1364, tax 136
    expect(taxBreakdown(1500, 1000, true)).toStrictEqual({
      amount: 1500,
      taxAmount: 136,
      amountExcludingTax: 1364,
      amountIncludingTax: 1500,
    });
  });

  it('keeps every split exact over a range of amounts and rates', () => {
    for (const rate of [0, 500, 825, 1000, 1900, 2000, 2500]) {
      for (let amount = 0; amount < 3000; amount += 7) {
        for (const inclusive of [true, false]) {
          const t = taxBreakdown(amount, rate, inclusive);
          expect(t.amountExcludingTax + t.taxAmount).toBe(t.amountIncludingTax);
          expect(t.taxAmount).toBeGreaterThanOrEqual(0);
        }
      }
    }
  });

  it('charges no tax at a zero rate', () => {
    expect(taxBreakdown(999, 0, false).taxAmount).toBe(0);
    expect(taxBreakdown(999, 0, true).taxAmount).toBe(0);
  });
});

describe('formatMoney', () => {
  it('formats by currency decimals and locale', () => {
    expect(formatMoney(1999, 'EUR', 'de')).toBe('19,99\u00a0€');
    expect(formatMoney(1999, 'USD', 'en')).toBe('$19.99');
    expect(formatMoney(1500, 'JPY', 'ja')).toBe('￥1,500');
    expect(formatMoney(1500, 'JPY', 'en')).toBe('¥1,500');
  });
});
