/**
 * Stripe's signature scheme, checked against headers made by the official `stripe` package
 * (`generateTestHeaderStringAsync`; see test/helpers/fake-stripe.ts for why the async variant) and against
 * the package's own verifier, with the clock injected so the tolerance is tested at its exact edges.
 */
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { TOLERANCE_SECONDS, verifyStripeSignature } from '../../src/modules/payments/webhook-signature';
import { signature } from '../helpers/fake-stripe';

const SECRET = 'whsec_test_signature_scheme';
const payload = JSON.stringify({
  id: 'evt_1',
  object: 'event',
  type: 'payment_intent.succeeded',
  note: 'déjà vu',
});
const bytes = new TextEncoder().encode(payload);
const T = 1_764_000_000;
const at = (seconds: number) => seconds * 1000;

describe('Stripe-Signature verification', () => {
  it('accepts a header the stripe package made, and so does the package’s own verifier', async () => {
    const header = await signature(payload, { secret: SECRET, timestamp: T });
    expect(await verifyStripeSignature(bytes, header, SECRET, at(T))).toBe('valid');
    const stripe = new Stripe('sk_test_unused');
    await expect(
      stripe.webhooks.constructEventAsync(payload, header, SECRET, TOLERANCE_SECONDS, undefined, at(T)),
    ).resolves.toMatchObject({ id: 'evt_1' });
  });

  it('refuses another secret, another body and a missing or malformed header, all alike', async () => {
    const header = await signature(payload, { secret: SECRET, timestamp: T });
    const other = await signature(payload, { secret: 'whsec_someone_else', timestamp: T });
    const tampered = new TextEncoder().encode(payload.replace('evt_1', 'evt_2'));
    const verdicts = await Promise.all([
      verifyStripeSignature(bytes, other, SECRET, at(T)),
      verifyStripeSignature(tampered, header, SECRET, at(T)),
      verifyStripeSignature(bytes, undefined, SECRET, at(T)),
      verifyStripeSignature(bytes, '', SECRET, at(T)),
      verifyStripeSignature(bytes, 'garbage', SECRET, at(T)),
      verifyStripeSignature(bytes, header.replace(/t=\d+/, ''), SECRET, at(T)),
      verifyStripeSignature(bytes, header.replace('v1=', 'v0='), SECRET, at(T)),
      verifyStripeSignature(bytes, header.replace(/t=\d+/, `t=${T + 1}`), SECRET, at(T)),
    ]);
    expect(verdicts).toStrictEqual(Array(8).fill('invalid_signature'));
  });

  it('accepts any one matching v1 among several (a secret being rolled), ignoring other schemes', async () => {
    const header = await signature(payload, { secret: SECRET, timestamp: T });
    const v1 = header.split(',v1=')[1];
    const rolled = `t=${T},v1=${'0'.repeat(64)},v0=${'1'.repeat(64)},v1=${v1}`;
    expect(await verifyStripeSignature(bytes, rolled, SECRET, at(T))).toBe('valid');
  });

  it('accepts a timestamp up to 300 s away in either direction and refuses one beyond', async () => {
    const header = await signature(payload, { secret: SECRET, timestamp: T });
    expect(await verifyStripeSignature(bytes, header, SECRET, at(T + 300))).toBe('valid');
    expect(await verifyStripeSignature(bytes, header, SECRET, at(T + 300) + 999)).toBe('valid');
    expect(await verifyStripeSignature(bytes, header, SECRET, at(T + 301))).toBe('signature_expired');
    expect(await verifyStripeSignature(bytes, header, SECRET, at(T - 300))).toBe('valid');
    expect(await verifyStripeSignature(bytes, header, SECRET, at(T - 301))).toBe('signature_expired');
  });

  it('checks the signature before the timestamp: a forged stale request learns nothing about time', async () => {
    const forged = await signature(payload, { secret: 'whsec_forger', timestamp: T - 3600 });
    expect(await verifyStripeSignature(bytes, forged, SECRET, at(T))).toBe('invalid_signature');
  });
});
