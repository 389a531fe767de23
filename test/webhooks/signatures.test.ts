/**
 * What a receiver gets is verifiable with the independent `standardwebhooks` library (and with plain
 * HMAC-SHA256, as docs/WEBHOOKS.md shows), and secret rotation sends both signatures for exactly the overlap
 * window. Deliveries are driven through the queue handler; the receiver is faked at the fetch boundary.
 */
import { env } from 'cloudflare:workers';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ROTATION_OVERLAP_MS } from '../../src/modules/webhooks/service';
import { insertSecretKey } from '../helpers/admin';
import { bearer, call } from '../helpers/http';
import {
  createEndpoint,
  envelope,
  FakeReceivers,
  insertDelivery,
  runDeliveryQueue,
} from '../helpers/webhooks';

let token = '';
let receivers: FakeReceivers;
beforeAll(async () => {
  token = (await insertSecretKey(['webhooks:manage'])).key;
});
beforeEach(() => {
  receivers = new FakeReceivers();
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** Delivers one event to a fresh endpoint and answers what the receiver got. */
async function deliverOnce(endpointId: string, url: string, event = envelope()) {
  await runDeliveryQueue(await insertDelivery(endpointId, event));
  const received = receivers.at(url).at(-1);
  if (!received) throw new Error('nothing received');
  return received;
}

/** docs/WEBHOOKS.md's plain HMAC-SHA256 example, verbatim but for taking the headers as a record. */
async function verifyByHand(secret: string, record: Record<string, string>, body: string): Promise<boolean> {
  const headers = new Headers(record);
  const id = headers.get('webhook-id');
  const timestamp = headers.get('webhook-timestamp');
  const signatures = (headers.get('webhook-signature') ?? '').split(' ');
  if (!id || !timestamp || Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const key = await crypto.subtle.importKey(
    'raw',
    Uint8Array.from(atob(secret.replace(/^whsec_/, '')), (c) => c.charCodeAt(0)),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['verify'],
  );
  const signed = new TextEncoder().encode(`${id}.${timestamp}.${body}`);
  for (const entry of signatures) {
    const [version, signature] = entry.split(',');
    if (version !== 'v1' || !signature) continue;
    const mac = Uint8Array.from(atob(signature), (c) => c.charCodeAt(0));
    if (await crypto.subtle.verify('HMAC', key, mac, signed)) return true;
  }
  return false;
}

describe('Standard Webhooks signatures', () => {
  it('are verified by the standardwebhooks library; the body is the event envelope', async () => {
    const url = receivers.url();
    const endpoint = await createEndpoint(token, { url });
    const event = envelope({ type: 'order.created', data: { id: 'ord_1', total: 4200, currency: 'EUR' } });

    const seconds = () => Math.floor(Date.now() / 1000);
    const before = seconds();
    const received = await deliverOnce(endpoint.id, url, event);
    const after = seconds();

    expect(received.headers['webhook-id']).toBe(event.id);
    // The second the attempt was signed in, which a busy machine may put after the one the test started in.
    const timestamp = Number(received.headers['webhook-timestamp']);
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(after);
    expect(received.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(received.body).toBe(JSON.stringify(event));
    expect(new Webhook(endpoint.secret).verify(received.body, received.headers)).toStrictEqual(event);
    expect(await verifyByHand(endpoint.secret, received.headers, received.body)).toBe(true);
  });

  it('fail verification for a changed body, another endpoint’s secret, or a replayed old timestamp', async () => {
    const url = receivers.url();
    const endpoint = await createEndpoint(token, { url });
    const other = await createEndpoint(token, { url: receivers.url() });
    const received = await deliverOnce(endpoint.id, url);

    const tampered = received.body.replace('product.updated', 'product.deleted');
    expect(() => new Webhook(endpoint.secret).verify(tampered, received.headers)).toThrow(
      WebhookVerificationError,
    );
    expect(() => new Webhook(other.secret).verify(received.body, received.headers)).toThrow(
      WebhookVerificationError,
    );
    expect(await verifyByHand(endpoint.secret, received.headers, tampered)).toBe(false);
    expect(await verifyByHand(other.secret, received.headers, received.body)).toBe(false);
    vi.setSystemTime(Date.now() + 6 * 60_000);
    expect(() => new Webhook(endpoint.secret).verify(received.body, received.headers)).toThrow(
      'Message timestamp too old',
    );
    expect(await verifyByHand(endpoint.secret, received.headers, received.body)).toBe(false);
  });

  it('keep the same webhook-id on every attempt of a delivery, and sign each attempt anew', async () => {
    let calls = 0;
    const url = receivers.url(() => new Response(null, { status: ++calls === 1 ? 500 : 200 }));
    const endpoint = await createEndpoint(token, { url });
    const deliveryId = await insertDelivery(endpoint.id);
    await runDeliveryQueue(deliveryId);
    vi.setSystemTime(Date.now() + 6_000);
    await runDeliveryQueue(deliveryId);

    const [first, second] = receivers.at(url);
    expect(second?.headers['webhook-id']).toBe(first?.headers['webhook-id']);
    expect(Number(second?.headers['webhook-timestamp'])).toBe(
      Number(first?.headers['webhook-timestamp']) + 6,
    );
    expect(second?.headers['webhook-signature']).not.toBe(first?.headers['webhook-signature']);
    expect(new Webhook(endpoint.secret).verify(second?.body ?? '', second?.headers ?? {})).toBeTruthy();
  });
});

describe('secret rotation', () => {
  it('signs with both secrets for 24 hours, then with the new one alone', async () => {
    const url = receivers.url();
    const endpoint = await createEndpoint(token, { url });
    const rotatedAt = Date.now();
    vi.setSystemTime(rotatedAt);
    const res = await call(`/v1/admin/webhooks/${endpoint.id}/rotate-secret`, {
      method: 'POST',
      headers: bearer(token),
    });
    const { secret: newSecret } = (await res.json()) as { secret: string };

    const during = await deliverOnce(endpoint.id, url);
    const signatures = during.headers['webhook-signature']?.split(' ') ?? [];
    expect(signatures).toHaveLength(2);
    expect(new Webhook(newSecret).verify(during.body, during.headers)).toBeTruthy();
    expect(new Webhook(endpoint.secret).verify(during.body, during.headers)).toBeTruthy();
    // Newest first: a receiver checking only the first signature has switched once it holds the new secret.
    expect(
      await verifyByHand(
        newSecret,
        { ...during.headers, 'webhook-signature': signatures[0] ?? '' },
        during.body,
      ),
    ).toBe(true);

    vi.setSystemTime(rotatedAt + ROTATION_OVERLAP_MS - 1_000);
    const lastMoment = await deliverOnce(endpoint.id, url);
    expect(lastMoment.headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(new Webhook(endpoint.secret).verify(lastMoment.body, lastMoment.headers)).toBeTruthy();

    vi.setSystemTime(rotatedAt + ROTATION_OVERLAP_MS + 1_000);
    const after = await deliverOnce(endpoint.id, url);
    expect(after.headers['webhook-signature']?.split(' ')).toHaveLength(1);
    expect(new Webhook(newSecret).verify(after.body, after.headers)).toBeTruthy();
    expect(() => new Webhook(endpoint.secret).verify(after.body, after.headers)).toThrow(
      'No matching signature found',
    );
  });

  it('a second rotation within the window drops the oldest secret at once', async () => {
    const url = receivers.url();
    const endpoint = await createEndpoint(token, { url });
    const rotate = async () =>
      (
        (await (
          await call(`/v1/admin/webhooks/${endpoint.id}/rotate-secret`, {
            method: 'POST',
            headers: bearer(token),
          })
        ).json()) as { secret: string }
      ).secret;
    const second = await rotate();
    const third = await rotate();

    const received = await deliverOnce(endpoint.id, url);
    expect(new Webhook(third).verify(received.body, received.headers)).toBeTruthy();
    expect(new Webhook(second).verify(received.body, received.headers)).toBeTruthy();
    expect(() => new Webhook(endpoint.secret).verify(received.body, received.headers)).toThrow(
      WebhookVerificationError,
    );
    const stored = await env.DB.prepare(
      'SELECT previous_secret_expires_at FROM webhook_endpoints WHERE id = ?',
    )
      .bind(endpoint.id)
      .first<{ previous_secret_expires_at: number }>();
    expect(stored?.previous_secret_expires_at).toBeGreaterThan(Date.now());
  });
});
