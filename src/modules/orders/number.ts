/**
 * Order numbers: what a shopper reads to support over the phone and staff type into search. Ten random
 * Crockford base32 characters in two groups (`7K3MQ-X2P9D`): no I, L, O or U to misread, 50 bits, so numbers
 * reveal neither sales volume nor order. With a million orders stored, a new number collides with probability
 * about 10^-9; `orders.number` is unique, so a collision fails the placing batch instead of sharing a number.
 *
 * Random rather than a sequence: a counter row would need a second write in every checkout batch and would make
 * the number, and with it the idempotent response, unknown until the batch ran.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const GROUP = 5;

export const ORDER_NUMBER_PATTERN = /^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/;

export function newOrderNumber(): string {
  // 256 is a multiple of 32, so `byte % 32` is uniform.
  const chars = Array.from(crypto.getRandomValues(new Uint8Array(GROUP * 2)), (b) => ALPHABET[b % 32]);
  return `${chars.slice(0, GROUP).join('')}-${chars.slice(GROUP).join('')}`;
}

/** A number as people type it (any case, with or without the dash), or undefined if it cannot be one. */
export function normalizeOrderNumber(input: string): string | undefined {
  const compact = input.trim().toUpperCase().replaceAll('-', '');
  const number = `${compact.slice(0, GROUP)}-${compact.slice(GROUP)}`;
  return ORDER_NUMBER_PATTERN.test(number) ? number : undefined;
}
