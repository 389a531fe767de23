/**
 * Outgoing email behind one function. `dev-mailbox` stores messages in D1 for local development and tests
 * (listed at GET /v1/dev/mailbox); `http` posts JSON to the configured email API with a bearer key.
 * A failed send is logged and reported to the caller, never thrown into a shopper's request.
 */
import { devMailbox } from '../../db/schema';
import { createDb } from '../../lib/db';
import { newId } from '../../lib/ids';
import type { Logger } from '../../lib/logger';

export type Email = { to: string; subject: string; text: string };

const SEND_TIMEOUT_MS = 5_000;

export function devRoutesEnabled(env: Env): boolean {
  return env.ENVIRONMENT === 'development' || env.ENVIRONMENT === 'test';
}

export async function sendEmail(env: Env, logger: Logger, email: Email): Promise<boolean> {
  try {
    if (env.EMAIL_PROVIDER === 'dev-mailbox') {
      if (!devRoutesEnabled(env)) throw new Error('the dev mailbox is disabled outside development');
      await createDb(env.DB)
        .insert(devMailbox)
        .values({ id: newId('msg'), ...email });
      return true;
    }
    const res = await fetch(env.EMAIL_API_URL, {
      method: 'POST',
      headers: { Authorization: `Bearer ${env.EMAIL_API_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ from: env.EMAIL_FROM, ...email }),
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
    if (!res.ok) throw new Error(`email API answered ${res.status}`);
    return true;
  } catch (error) {
    logger.error('email not sent', { reason: error instanceof Error ? error.message : 'unknown' });
    return false;
  }
}
