/**
 * Outgoing email behind one interface, chosen by EMAIL_PROVIDER: `dev-mailbox` stores messages in D1 for local
 * development and tests, `http` posts them to a transactional email API. Callers never know which one runs.
 */
import { devMailboxProvider } from './dev-mailbox';
import { httpEmailProvider } from './http-provider';
import type { EmailProvider } from './types';

export function emailProvider(env: Env): EmailProvider {
  if (env.EMAIL_PROVIDER === 'dev-mailbox') return devMailboxProvider(env);
  if (env.EMAIL_PROVIDER === 'http') return httpEmailProvider(env);
  throw new Error('EMAIL_PROVIDER must be "http" or "dev-mailbox"');
}
