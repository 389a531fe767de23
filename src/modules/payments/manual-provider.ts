/**
 * The `manual` provider: no network, no money. It authorizes every payment at once and every capture, refund
 * and void succeeds, so a store can take orders that staff settle by hand (invoice, cash on delivery), and
 * local development and tests run without a payment account. Its references derive from the idempotency key,
 * so a retried call returns the same reference, as a real provider's idempotency would.
 *
 * It holds no state: `retrieve` reports what it does to every payment, `authorized`, and `refunds` lists none
 * (it has no dashboard to refund in, and edgecart's own refunds are in its refund rows).
 */
import { sha256Hex } from '../../lib/crypto';
import type { PaymentProvider } from './provider';

const reference = async (kind: 'pay' | 're', idempotencyKey: string) =>
  `manual_${kind}_${(await sha256Hex(idempotencyKey)).slice(0, 24)}`;

export const manualProvider: PaymentProvider = {
  name: 'manual',
  async authorize(request) {
    return { status: 'authorized', providerRef: await reference('pay', request.idempotencyKey) };
  },
  async capture(_ref, { amount }) {
    return { amountCaptured: amount };
  },
  async refund(_ref, _money, _reason, idempotencyKey) {
    return { providerRef: await reference('re', idempotencyKey), status: 'succeeded' };
  },
  async cancel() {},
  async retrieve() {
    return { status: 'authorized' };
  },
  async refunds() {
    return [];
  },
};
