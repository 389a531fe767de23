/**
 * Mail is sent from events by the email consumer (src/modules/notifications): requests only write events, so they
 * never wait for the mail API and a reset request does the same work whether or not the account exists; tokens
 * are issued by the consumer and never appear in an event.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/app';
import { sha256Hex } from '../../src/lib/crypto';
import { EMAIL_CONSUMER } from '../../src/modules/notifications/consumer';
import { insertSecretKey } from '../helpers/admin';
import { seedRegions } from '../helpers/catalog-fixtures';
import { mailTo, PASSWORD, registerCustomer, tokenIn, withAuth } from '../helpers/customers';
import {
  deliverBatch,
  envelopesOf,
  mailSentAfter,
  outboxRowsOf,
  processedBy,
  syntheticEnvelope,
} from '../helpers/events';
import { bearer, call, jsonInit, randomIp } from '../helpers/http';
import { insertPendingInvite } from '../helpers/staff';
import { uniqueEmail } from '../helpers/unique';

beforeAll(seedRegions);
afterEach(() => vi.restoreAllMocks());

const requestIdOf = (res: Response) => res.headers.get('X-Request-Id');

/** A request through the app without an execution context: its events stay in the outbox for the test to deliver. */
function unpublished(path: string, body: unknown, bindings: Env = env) {
  return createApp().request(path, jsonInit('POST', body, { 'CF-Connecting-IP': randomIp() }), bindings);
}

const count = async (sql: string, ...binds: unknown[]) =>
  (
    await env.DB.prepare(sql)
      .bind(...binds)
      .first<{ n: number }>()
  )?.n;

describe('requests only raise events', () => {
  it('signs up without touching the mail API; the consumer mails the link', async () => {
    const mailApi = vi.spyOn(globalThis, 'fetch');
    const httpMail = { ...env, EMAIL_PROVIDER: 'http', EMAIL_API_URL: 'https://mail.provider.test/v1/send' };
    const email = uniqueEmail();
    const res = await unpublished('/v1/auth/customers/register', { email, password: PASSWORD }, httpMail);
    expect(res.status).toBe(201);
    expect(mailApi).not.toHaveBeenCalled();
    const events = await outboxRowsOf(requestIdOf(res));
    const { customer } = (await res.json()) as { customer: { id: string } };
    expect(events.map((e) => [e.type, e.payload])).toStrictEqual([
      ['customer.created', { id: customer.id }],
      ['customer.email_verification_requested', { id: customer.id }],
    ]);
    expect(await count('SELECT COUNT(*) AS n FROM one_time_tokens WHERE principal_id = ?', customer.id)).toBe(
      0,
    );

    mailApi.mockImplementation(async () => new Response('{}', { status: 202 }));
    expect((await deliverBatch(envelopesOf(events), { env: httpMail })).acked).toHaveLength(2);
    expect(mailApi).toHaveBeenCalledTimes(1);
    const sent = JSON.parse(String(mailApi.mock.calls[0]?.[1]?.body)) as { to: string; text: string };
    expect(sent.to).toBe(email);
    // The token is issued with the mail: only its hash is stored, and no event ever held it.
    const token = tokenIn(sent.text);
    expect(
      await count('SELECT COUNT(*) AS n FROM one_time_tokens WHERE token_hash = ?', await sha256Hex(token)),
    ).toBe(1);
    expect(JSON.stringify(events)).not.toContain(token);
  });

  it('does the same work for a reset request whether or not an account has the email', async () => {
    const who = await registerCustomer();
    const tokensBefore = await count('SELECT COUNT(*) AS n FROM one_time_tokens');
    const shapes = [];
    for (const email of [who.email, uniqueEmail('nobody')]) {
      const res = await unpublished('/v1/auth/customers/password-reset/request', { email });
      expect(res.status).toBe(202);
      const events = await outboxRowsOf(requestIdOf(res));
      shapes.push(events.map((e) => [e.type, e.aggregateType, e.payload]));
      expect(shapes.at(-1)).toStrictEqual([['password_reset.requested', 'password_reset', { email }]]);
    }
    // Neither request issued a token: the consumer does, for the account that exists.
    expect(await count('SELECT COUNT(*) AS n FROM one_time_tokens')).toBe(tokensBefore);
  });

  it('mails an invitation whose token replaces the invite’s hash; the event holds only the invite id', async () => {
    const key = (await insertSecretKey()).key;
    const email = uniqueEmail('invitee');
    const res = await call(
      '/v1/admin/staff/invites',
      jsonInit('POST', { email, role: 'support' }, bearer(key)),
    );
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const [event] = await mailSentAfter(res).then(() => outboxRowsOf(requestIdOf(res)));
    expect(event?.payload).toStrictEqual({ id });
    const [mail] = await mailTo(email);
    const token = /Token: ([A-Za-z0-9_-]{43})$/.exec(mail ?? '')?.[1] as string;
    expect(
      await env.DB.prepare('SELECT token_hash FROM staff_invites WHERE id = ?').bind(id).first(),
    ).toStrictEqual({ token_hash: await sha256Hex(token) });
  });
});

describe('what the consumer sends, and what it does not', () => {
  it('confirms an order from the order.created event alone', async () => {
    const email = uniqueEmail('buyer');
    const order = syntheticEnvelope('order.created', {
      id: 'ord_01JD3Q6C5W9ZK2M4T8R7XPN0AB',
      customer_id: null,
      email,
      locale: 'de',
      region: 'eu',
      country: 'DE',
      currency: 'EUR',
      subtotal: 4998,
      discount_total: 500,
      shipping_total: 490,
      tax_total: 798,
      total: 4988,
      items: [
        { variant_id: 'var_1', sku: 'TEE-M', title: 'T-shirt M', quantity: 2, unit_price: 1999, total: 3998 },
        { variant_id: 'var_2', sku: 'CAP', title: 'Cap', quantity: 1, unit_price: 1000, total: 1000 },
      ],
    });
    expect((await deliverBatch([order])).acked).toHaveLength(1);
    const res = await call(`/v1/dev/mailbox?to=${encodeURIComponent(email)}`);
    expect(((await res.json()) as { data: unknown[] }).data).toStrictEqual([
      {
        id: expect.stringMatching(/^msg_/),
        to: email,
        subject: 'Your order ord_01JD3Q6C5W9ZK2M4T8R7XPN0AB',
        // German formatting, with the no-break space Intl puts before the currency sign.
        text: [
          'Thank you for your order.',
          '',
          'Order: ord_01JD3Q6C5W9ZK2M4T8R7XPN0AB',
          '',
          '2 x T-shirt M (TEE-M)  39,98\u00a0€',
          '1 x Cap (CAP)  10,00\u00a0€',
          '',
          'Subtotal: 49,98\u00a0€',
          'Discount: -5,00\u00a0€',
          'Shipping: 4,90\u00a0€',
          'Tax: 7,98\u00a0€',
          'Total: 49,88\u00a0€',
        ].join('\n'),
        created_at: expect.any(String),
      },
    ]);
  });

  it('sends one mail for an event delivered twice', async () => {
    const email = uniqueEmail('twice');
    const order = syntheticEnvelope('order.created', {
      id: 'ord_twice',
      customer_id: null,
      email,
      locale: null,
      region: 'us',
      country: 'US',
      currency: 'USD',
      subtotal: 1000,
      discount_total: 0,
      shipping_total: 0,
      tax_total: 0,
      total: 1000,
      items: [{ variant_id: 'var_1', sku: 'MUG', title: 'Mug', quantity: 1, unit_price: 1000, total: 1000 }],
    });
    await deliverBatch([order]);
    await deliverBatch([order], { attempts: 2 });
    expect(await mailTo(email)).toHaveLength(1);
  });

  it('mails nothing for an erased account or a revoked invitation, and marks the events done', async () => {
    const who = await registerCustomer();
    await mailSentAfter(who.requestId);
    expect(
      (await call('/v1/store/customers/me', withAuth(who, 'DELETE', { password: PASSWORD }))).status,
    ).toBe(204);
    const verification = syntheticEnvelope('customer.email_verification_requested', { id: who.id });

    const { invite } = await insertPendingInvite('support');
    const key = (await insertSecretKey()).key;
    const revoked = await call(`/v1/admin/staff/invites/${invite.id}/revoke`, {
      method: 'POST',
      headers: bearer(key),
    });
    expect(revoked.status).toBe(200);
    const invitation = syntheticEnvelope('staff_invite.created', { id: invite.id });

    expect((await deliverBatch([verification, invitation])).acked).toHaveLength(2);
    expect(await processedBy(EMAIL_CONSUMER, verification.id)).toBe(true);
    expect(await processedBy(EMAIL_CONSUMER, invitation.id)).toBe(true);
    expect(await mailTo(invite.email)).toStrictEqual([]);
    expect(await count('SELECT COUNT(*) AS n FROM one_time_tokens WHERE principal_id = ?', who.id)).toBe(0);
  });
});
