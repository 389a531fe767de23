/** The manual provider: no network, everything succeeds, references follow the idempotency key. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { manualProvider } from '../../src/modules/payments/manual-provider';

const signal = new AbortController().signal;
const request = { amount: 4200, currency: 'EUR', idempotencyKey: 'key-1', metadata: { cart_id: 'cart_1' } };

afterEach(() => {
  vi.restoreAllMocks();
});

describe('manual provider', () => {
  it('authorizes at once, with a reference derived from the idempotency key', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const first = await manualProvider.authorize(request, signal);
    expect(first).toStrictEqual({
      status: 'authorized',
      providerRef: expect.stringMatching(/^manual_pay_[0-9a-f]{24}$/),
    });
    expect(await manualProvider.authorize(request, signal)).toStrictEqual(first);
    expect(await manualProvider.authorize({ ...request, idempotencyKey: 'key-2' }, signal)).not.toStrictEqual(
      first,
    );
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('captures, refunds and voids without fail', async () => {
    const { providerRef } = await manualProvider.authorize(request, signal);
    const ref = providerRef as string;
    expect(await manualProvider.capture(ref, { amount: 4000, currency: 'EUR' }, 'c-1', signal)).toStrictEqual(
      { amountCaptured: 4000 },
    );
    const refund = await manualProvider.refund(
      ref,
      { amount: 1000, currency: 'EUR' },
      'damaged',
      'r-1',
      signal,
    );
    expect(refund).toStrictEqual({
      providerRef: expect.stringMatching(/^manual_re_[0-9a-f]{24}$/),
      status: 'succeeded',
    });
    expect(
      await manualProvider.refund(ref, { amount: 1000, currency: 'EUR' }, 'damaged', 'r-1', signal),
    ).toStrictEqual(refund);
    await expect(manualProvider.cancel(ref, 'v-1', signal)).resolves.toBeUndefined();
    expect(await manualProvider.retrieve(ref, signal)).toStrictEqual({ status: 'authorized' });
  });
});
