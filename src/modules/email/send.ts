/**
 * The one function modules call to send mail. A failed send is logged (without the message, which holds
 * tokens) and reported as `false`, never thrown: a shopper's sign-up must not fail because mail is down.
 */
import type { Logger } from '../../lib/logger';
import { emailProvider } from './provider';
import type { EmailMessage } from './types';

export async function sendEmail(env: Env, logger: Logger, email: EmailMessage): Promise<boolean> {
  try {
    await emailProvider(env).send(email);
    return true;
  } catch (error) {
    logger.error('email not sent', {
      provider: env.EMAIL_PROVIDER,
      reason: error instanceof Error ? error.message : 'unknown',
    });
    return false;
  }
}
