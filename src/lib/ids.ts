/**
 * Opaque, type-prefixed, time-sortable ids: `prod_01JD3…`. The 26-character body is a ULID (48-bit millisecond
 * time + 80 random bits, Crockford base32), so ids sort by creation time and reveal nothing guessable.
 *
 * @example newId('prod') // "prod_01JD3Q6C5W9ZK2M4T8R7XPN0AB"
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export const ID_PREFIXES = {
  region: 'reg',
  product: 'prod',
  option: 'opt',
  variant: 'var',
  category: 'cat',
  collection: 'col',
  image: 'img',
  apiKey: 'key',
  staff: 'stf',
  staffInvite: 'inv',
  recoveryCode: 'rcv',
  auditEntry: 'aud',
  session: 'ses',
  customer: 'cus',
  address: 'addr',
  mailMessage: 'msg',
  identityProvider: 'idp',
  event: 'evt',
  order: 'ord',
  orderLine: 'oli',
  orderTransition: 'otr',
  fulfillment: 'ful',
  cart: 'cart',
  cartLine: 'cli',
  shippingOption: 'ship',
  discount: 'disc',
  discountRedemption: 'dred',
  /** A stock change staff made (on-hand or settings): the InventoryItem ledger's idempotency key. */
  stockAdjustment: 'adj',
  payment: 'pay',
  refund: 'rfd',
  webhookEndpoint: 'whe',
  webhookDelivery: 'whd',
  webhookAttempt: 'wha',
  passwordReset: 'pwr',
  deadLetter: 'dlq',
} as const;

export type IdPrefix = (typeof ID_PREFIXES)[keyof typeof ID_PREFIXES];

export function newId(prefix: IdPrefix, now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let random = '';
  for (const b of bytes) random += ALPHABET[b % 32];
  return `${prefix}_${time}${random}`;
}
