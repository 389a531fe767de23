/**
 * The development mail provider: messages land in the D1 table `dev_mailbox`, listed at GET /v1/dev/mailbox.
 * It refuses to run outside development and test, so a misconfigured production deployment fails loudly
 * (logged) instead of storing shoppers' mail where an endpoint could list it.
 */
import { devMailbox } from '../../db/schema';
import { createDb } from '../../lib/db';
import { newId } from '../../lib/ids';
import type { EmailProvider } from './types';

export function devRoutesEnabled(env: Env): boolean {
  return env.ENVIRONMENT === 'development' || env.ENVIRONMENT === 'test';
}

export function devMailboxProvider(env: Env): EmailProvider {
  return {
    name: 'dev-mailbox',
    async send(message) {
      if (!devRoutesEnabled(env)) throw new Error('the dev mailbox is disabled outside development');
      await createDb(env.DB)
        .insert(devMailbox)
        .values({ id: newId('msg'), to: message.to, subject: message.subject, text: message.text });
    },
  };
}
