/** The payment state machine as a table: what each provider report does to a payment in each status. */
import { describe, expect, it } from 'vitest';
import { PAYMENT_STATUSES, type PaymentStatus } from '../../src/db/schema';
import type { ProviderUpdate, ReportedRefund } from '../../src/modules/payments/provider';
import type { PaymentRow } from '../../src/modules/payments/schemas';
import { planRefundFailure, planUpdate } from '../../src/modules/payments/transitions';

const row = (status: PaymentStatus, amountCaptured = 0, amountRefunded = 0): PaymentRow => ({
  id: 'pay_1',
  orderId: null,
  cartId: 'cart_1',
  provider: 'stripe',
  providerRef: 'pi_1',
  status,
  amount: 1000,
  currency: 'EUR',
  amountCaptured,
  amountRefunded,
  failureCode: status === 'failed' ? 'card_declined' : null,
  createdAt: new Date(0),
  updatedAt: new Date(0),
});

/** The status each report leads to from each status (`-`: no change), and `*` where that settles it. */
const TABLE: Record<ProviderUpdate['status'], Record<PaymentStatus, string>> = {
  requires_action: {
    requires_action: '-',
    authorized: '-',
    captured: '-',
    partially_refunded: '-',
    refunded: '-',
    voided: '-',
    failed: '-',
  },
  authorized: {
    requires_action: 'authorized*',
    authorized: '-',
    captured: '-',
    partially_refunded: '-',
    refunded: '-',
    voided: '-',
    failed: 'authorized*',
  },
  captured: {
    requires_action: 'captured*',
    authorized: 'captured',
    captured: '-',
    partially_refunded: '-',
    refunded: '-',
    voided: '-',
    failed: 'captured*',
  },
  failed: {
    requires_action: 'failed',
    authorized: '-',
    captured: '-',
    partially_refunded: '-',
    refunded: '-',
    voided: '-',
    failed: '-',
  },
  voided: {
    requires_action: 'voided',
    authorized: 'voided',
    captured: '-',
    partially_refunded: '-',
    refunded: '-',
    voided: '-',
    failed: 'voided',
  },
  refunded: {
    requires_action: '-',
    authorized: 'partially_refunded',
    captured: 'partially_refunded',
    partially_refunded: 'partially_refunded',
    refunded: '-',
    voided: '-',
    failed: '-',
  },
};

const reported = (providerRef: string, amount: number): ReportedRefund => ({
  providerRef,
  amount,
  status: 'succeeded',
  ours: false,
  key: null,
  reason: null,
});

const updates: Record<ProviderUpdate['status'], ProviderUpdate> = {
  requires_action: { status: 'requires_action' },
  authorized: { status: 'authorized' },
  captured: { status: 'captured', amountCaptured: 1000 },
  failed: { status: 'failed', failureCode: 'insufficient_funds' },
  voided: { status: 'voided' },
  refunded: { status: 'refunded', amountCaptured: 1000, refunds: [reported('re_1', 400)] },
};

describe('planUpdate', () => {
  it('moves payments forward only, and settles only from requires_action or failed', () => {
    const outcome = Object.fromEntries(
      Object.entries(updates).map(([name, update]) => [
        name,
        Object.fromEntries(
          PAYMENT_STATUSES.map((status) => {
            const before =
              status === 'partially_refunded'
                ? row(status, 1000, 300)
                : row(status, status === 'captured' ? 1000 : 0);
            const plan = planUpdate(before, update);
            return [status, plan ? `${plan.status}${plan.settles ? '*' : ''}` : '-'];
          }),
        ),
      ]),
    );
    expect(outcome).toStrictEqual(TABLE);
  });

  it('carries amounts and failure codes', () => {
    expect(planUpdate(row('requires_action'), updates.failed as ProviderUpdate)).toStrictEqual({
      status: 'failed',
      amountCaptured: 0,
      amountRefunded: 0,
      failureCode: 'insufficient_funds',
      settles: false,
    });
    expect(planUpdate(row('failed'), { status: 'captured', amountCaptured: 900 })).toStrictEqual({
      status: 'captured',
      amountCaptured: 900,
      amountRefunded: 0,
      failureCode: null,
      settles: true,
    });
  });

  it('adds the refunds it records to the refunded amount, and knows a full refund', () => {
    const refunded = (...amounts: number[]): ProviderUpdate => ({
      status: 'refunded',
      amountCaptured: 1000,
      refunds: amounts.map((amount, i) => reported(`re_${i}`, amount)),
    });
    // Every refund listed has a row already (settlement.ts leaves those out): nothing to do.
    expect(planUpdate(row('partially_refunded', 1000, 400), refunded())).toBeNull();
    expect(planUpdate(row('partially_refunded', 1000, 400), refunded(300))).toMatchObject({
      status: 'partially_refunded',
      amountRefunded: 700,
    });
    expect(planUpdate(row('partially_refunded', 1000, 400), refunded(200, 400))).toMatchObject({
      status: 'refunded',
      amountRefunded: 1000,
    });
    // The refund's report overtook the capture's: the capture comes with it.
    expect(planUpdate(row('authorized'), refunded(1000))).toMatchObject({
      status: 'refunded',
      amountCaptured: 1000,
      amountRefunded: 1000,
    });
    expect(planUpdate(row('voided'), refunded(1000))).toBeNull();
  });
});

describe('a refund reported failed or canceled', () => {
  it('takes its amount back off: refunded -> partially_refunded -> captured', () => {
    const refund = { amount: 400, status: 'pending' as const };
    expect(planRefundFailure(row('refunded', 1000, 1000), refund)).toStrictEqual({
      status: 'partially_refunded',
      amountCaptured: 1000,
      amountRefunded: 600,
      failureCode: null,
      settles: false,
    });
    expect(
      planRefundFailure(row('partially_refunded', 1000, 400), { ...refund, status: 'succeeded' }),
    ).toStrictEqual({
      status: 'captured',
      amountCaptured: 1000,
      amountRefunded: 0,
      failureCode: null,
      settles: false,
    });
  });

  it('changes nothing for a refund already recorded as returning nothing', () => {
    expect(planRefundFailure(row('captured', 1000, 0), { amount: 400, status: 'failed' })).toBeNull();
    expect(planRefundFailure(row('captured', 1000, 0), { amount: 400, status: 'canceled' })).toBeNull();
  });
});
