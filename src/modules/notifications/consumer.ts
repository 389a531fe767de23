/**
 * The email consumer: every mail the platform sends starts as an event, so no request waits for a mail API and no
 * request's timing tells whether a mail was sent. Each event type maps to the function that builds its mail (and
 * issues any token the mail carries, so no token is in an event); null means there is nothing to send (an erased
 * account, a revoked invite, a reset for an address no account has).
 *
 * Delivery is at least once: the mail is sent, then the event is marked processed. If the Worker stops between
 * the two, the retry builds a new mail; the provider's `Idempotency-Key` (this consumer and the event id) lets it
 * drop the second send.
 */
import type { CatalogEvent, EventType } from '../../lib/event-catalog';
import type { EventConsumer } from '../../lib/event-consumer';
import { passwordResetMail, verificationMail } from '../customers/email-flows';
import { sendEmail } from '../email/send';
import type { EmailMessage } from '../email/types';
import { invitationMail } from '../staff/invite-service';
import { orderConfirmationMail } from './order-confirmation';

type MailBuilder<T extends EventType> = (
  env: Env,
  event: Extract<CatalogEvent, { type: T }>,
) => Promise<EmailMessage | null>;

const MAILS: { [T in EventType]?: MailBuilder<T> } = {
  'customer.email_verification_requested': (env, event) => verificationMail(env, event.data.id),
  'password_reset.requested': (env, event) => passwordResetMail(env, event.data.email),
  'staff_invite.created': (env, event) => invitationMail(env, event.data.id),
  'order.created': async (_env, event) => orderConfirmationMail(event.data),
};

export const EMAIL_CONSUMER = 'email';

export const emailConsumer: EventConsumer = {
  name: EMAIL_CONSUMER,
  // Reset requests and invitations are internal events: they name an address and start a mail with a token.
  internal: true,
  handles: (type) => MAILS[type] !== undefined,
  async consume(env, event, { commitOnce }) {
    const build = MAILS[event.type] as MailBuilder<typeof event.type> | undefined;
    const mail = await build?.(env, event);
    if (mail) await sendEmail(env, { ...mail, idempotencyKey: `${EMAIL_CONSUMER}:${event.id}` });
    await commitOnce({ statements: [] });
  },
};
