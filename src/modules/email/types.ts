/** What every mail provider implements; modules only ever see `sendEmail` (send.ts). */
export type EmailMessage = { to: string; subject: string; text: string };

export interface EmailProvider {
  readonly name: 'dev-mailbox' | 'http';
  /** Resolves once the provider accepted the message; rejects otherwise. */
  send(message: EmailMessage): Promise<void>;
}
