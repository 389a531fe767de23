/**
 * The production mail provider: `POST EMAIL_API_URL` with `Authorization: Bearer EMAIL_API_KEY` and the JSON
 * body `{ from, to, subject, text }`, the shape most transactional email APIs accept, plus `Idempotency-Key` when
 * the message has one. A slow provider is cut off after SEND_TIMEOUT_MS so it cannot hold a consumer's batch.
 */
import type { EmailProvider } from './types';

const SEND_TIMEOUT_MS = 5_000;

export function httpEmailProvider(env: Env): EmailProvider {
  return {
    name: 'http',
    async send(message) {
      const res = await fetch(env.EMAIL_API_URL, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${env.EMAIL_API_KEY}`,
          'Content-Type': 'application/json',
          ...(message.idempotencyKey && { 'Idempotency-Key': message.idempotencyKey }),
        },
        body: JSON.stringify({
          from: env.EMAIL_FROM,
          to: message.to,
          subject: message.subject,
          text: message.text,
        }),
        signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
      });
      // The body is not needed; reading it releases the connection.
      await res.body?.cancel();
      if (!res.ok) throw new Error(`email API answered ${res.status}`);
    },
  };
}
