import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/app';
import { emailProvider } from '../../src/modules/email/provider';
import { sendEmail } from '../../src/modules/email/send';
import { seedRegions } from '../helpers/catalog-fixtures';
import { registerCustomer, tokenIn } from '../helpers/customers';
import { deliverBatch, envelopesOf, mailSentAfter, outboxRowsOf } from '../helpers/events';
import { problemOf, randomIp } from '../helpers/http';

beforeAll(seedRegions);
afterEach(() => vi.restoreAllMocks());

const httpEnv: Env = {
  ...env,
  EMAIL_PROVIDER: 'http',
  EMAIL_API_URL: 'https://mail.provider.test/v1/send',
  EMAIL_FROM: 'edgecart <no-reply@shop.test>',
};
const message = { to: 'ada@example.com', subject: 'Hello', text: 'Token: abc' };

/** The outside world's email API, faked at the network boundary; D1 and the rest stay real. */
function fakeEmailApi(status = 202) {
  return vi
    .spyOn(globalThis, 'fetch')
    .mockImplementation(async () => new Response('{"id":"m1"}', { status }));
}

describe('the http email provider', () => {
  it('POSTs the message as JSON to EMAIL_API_URL with the API key as a Bearer token', async () => {
    const fetchSpy = fakeEmailApi();
    expect(emailProvider(httpEnv).name).toBe('http');
    await sendEmail(httpEnv, message);

    expect(fetchSpy).toHaveBeenCalledTimes(1);
    const [url, init] = fetchSpy.mock.calls[0] as [string, RequestInit];
    expect(url).toBe('https://mail.provider.test/v1/send');
    expect(init.method).toBe('POST');
    expect(init.headers).toStrictEqual({
      Authorization: 'Bearer test-email-api-key',
      'Content-Type': 'application/json',
    });
    expect(JSON.parse(init.body as string)).toStrictEqual({
      from: 'edgecart <no-reply@shop.test>',
      to: 'ada@example.com',
      subject: 'Hello',
      text: 'Token: abc',
    });
    // A timeout bounds a slow provider.
    expect(init.signal).toBeInstanceOf(AbortSignal);
  });

  it('sends the idempotency key of a mail, so a provider drops a retried duplicate', async () => {
    const fetchSpy = fakeEmailApi();
    await sendEmail(httpEnv, { ...message, idempotencyKey: 'email:evt_1' });
    const [, init] = fetchSpy.mock.calls[0] as [string, RequestInit];
    expect(init.headers).toStrictEqual({
      Authorization: 'Bearer test-email-api-key',
      'Content-Type': 'application/json',
      'Idempotency-Key': 'email:evt_1',
    });
  });

  it('throws a refused send with the provider’s reason and never the message', async () => {
    fakeEmailApi(500);
    const sent = sendEmail(httpEnv, message);
    await expect(sent).rejects.toThrow('email not sent by http: email API answered 500');
    await expect(sent).rejects.not.toThrow('abc');
  });

  it('mails a password reset link from the request’s event; a provider outage is retried, never the request’s', async () => {
    const who = await registerCustomer();
    const fetchSpy = fakeEmailApi();
    // app.request() has no execution context: the event stays in the outbox, and the test delivers it.
    const request = () =>
      createApp().request(
        '/v1/auth/customers/password-reset/request',
        {
          method: 'POST',
          body: JSON.stringify({ email: who.email }),
          headers: { 'Content-Type': 'application/json', 'CF-Connecting-IP': randomIp() },
        },
        httpEnv,
      );
    const res = await request();
    expect(res.status).toBe(202);
    expect(fetchSpy).not.toHaveBeenCalled();
    const [event] = envelopesOf(await outboxRowsOf(res.headers.get('X-Request-Id')));
    expect(event).toMatchObject({ type: 'password_reset.requested', data: { email: who.email } });

    expect(await deliverBatch([event], { env: httpEnv })).toMatchObject({ acked: [expect.any(String)] });
    const [url, init] = fetchSpy.mock.calls[0] as [string, RequestInit & { headers: Record<string, string> }];
    expect(url).toBe(httpEnv.EMAIL_API_URL);
    expect(init.headers['Idempotency-Key']).toBe(`email:${event?.id}`);
    const sent = JSON.parse(init.body as string) as { to: string; subject: string; text: string };
    expect(sent).toMatchObject({ to: who.email, subject: 'Reset your password' });
    expect(sent.text).toContain(
      `https://api.edgecart.test/account/reset-password?token=${tokenIn(sent.text)}`,
    );

    fetchSpy.mockImplementation(async () => {
      throw new TypeError('network down');
    });
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const again = await request();
    expect(again.status).toBe(202);
    const retried = await deliverBatch(envelopesOf(await outboxRowsOf(again.headers.get('X-Request-Id'))), {
      env: httpEnv,
    });
    expect(retried).toMatchObject({ acked: [], retried: [{ delaySeconds: 10 }] });
  });
});

describe('the dev mailbox provider', () => {
  it('is chosen by EMAIL_PROVIDER=dev-mailbox and refuses to store mail outside development', async () => {
    expect(emailProvider(env).name).toBe('dev-mailbox');
    await expect(emailProvider({ ...env, ENVIRONMENT: 'production' }).send(message)).rejects.toThrow(
      'the dev mailbox is disabled outside development',
    );
    expect(
      await env.DB.prepare('SELECT COUNT(*) AS n FROM dev_mailbox WHERE to_address = ?')
        .bind(message.to)
        .first(),
    ).toStrictEqual({ n: 0 });
  });

  it('refuses an unknown provider name', () => {
    expect(() => emailProvider({ ...env, EMAIL_PROVIDER: 'smtp' })).toThrow(
      'EMAIL_PROVIDER must be "http" or "dev-mailbox"',
    );
  });
});

describe('the dev mailbox endpoint', () => {
  it('lists mail newest first, filtered by recipient', async () => {
    const who = await registerCustomer();
    await mailSentAfter(who.requestId);
    const res = await createApp().request(`/v1/dev/mailbox?to=${encodeURIComponent(who.email)}`, {}, env);
    expect(res.status).toBe(200);
    expect(await res.json()).toStrictEqual({
      data: [
        {
          id: expect.stringMatching(/^msg_/),
          to: who.email,
          subject: 'Confirm your email address',
          text: expect.stringContaining('/account/verify-email?token='),
          created_at: expect.any(String),
        },
      ],
    });
  });

  it('is a 404 in production', async () => {
    const res = await createApp().request('/v1/dev/mailbox', {}, { ...env, ENVIRONMENT: 'production' });
    expect(res.status).toBe(404);
    expect((await problemOf(res)).code).toBe('route_not_found');
  });
});
