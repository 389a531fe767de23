/**
 * The one function that sends mail. Only event consumers call it (src/modules/notifications), never a request: a
 * failure is thrown, and the event queue retries the consumer with backoff and finally dead-letters the event, so a
 * mail outage delays mail instead of failing a shopper's sign-up or revealing anything through its timing.
 */
import { emailProvider } from './provider';
import type { EmailMessage } from './types';

export async function sendEmail(env: Env, email: EmailMessage): Promise<void> {
  try {
    await emailProvider(env).send(email);
  } catch (error) {
    // The message holds a token; only the provider's reason may travel on (into logs and dead letters).
    throw new Error(
      `email not sent by ${env.EMAIL_PROVIDER}: ${error instanceof Error ? error.message : 'unknown'}`,
    );
  }
}
