/**
 * The refund-claims job (src/jobs/refund-claims.ts): how it finds the refunds no request claimed, and that it runs
 * every minute. What it records on an order is tested with the refunds that lead there
 * (test/orders/idempotent-actions.test.ts, "a refund Stripe made that no request recorded").
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { runRefundClaimsJob } from '../../src/jobs/refund-claims';
import { CRON_JOBS } from '../../src/jobs/schedule';
import { createDb } from '../../src/lib/db';
import { unclaimedRefundsBefore } from '../../src/modules/payments/refund-claims';
import { createPayment } from '../helpers/payments';

describe('refund-claims job', () => {
  it('finds unclaimed refunds through refunds_unclaimed_idx, not a scan', async () => {
    const query = unclaimedRefundsBefore(createDb(env.DB), new Date(), 50).toSQL();
    const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${query.sql}`)
      .bind(...query.params)
      .all<{ detail: string }>();
    expect(results.map((r) => r.detail)).toStrictEqual([
      'SEARCH refunds USING INDEX refunds_unclaimed_idx (created_at<?)',
    ]);
  });

  it('leaves a row that does not say it is unclaimed: one written before migration 0032, or by the Worker before it', async () => {
    const { payment } = await createPayment('manual');
    // The previous Worker's refund batch, between the migration and the deploy: no claimed_at.
    await env.DB.prepare(
      "INSERT INTO refunds (id, payment_id, amount, reason, provider_ref, status, created_at) VALUES ('rfd_old', ?, 100, NULL, 're_old', 'succeeded', 0)",
    )
      .bind(payment.id)
      .run();
    const stored = await env.DB.prepare("SELECT claimed_at FROM refunds WHERE id = 'rfd_old'").first();
    expect(stored).toStrictEqual({ claimed_at: 0 });
    const due = await unclaimedRefundsBefore(createDb(env.DB), new Date(), 50);
    expect(due.map((r) => r.id)).not.toContain('rfd_old');
  });

  it('runs every minute', () => {
    expect(CRON_JOBS['* * * * *']).toContain(runRefundClaimsJob);
  });
});
