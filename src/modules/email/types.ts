/** What every mail provider implements; modules only ever see `sendEmail` (send.ts). */
export type EmailMessage = {
  to: string;
  subject: string;
  text: string;
  /**
   * The same key for every attempt at one mail (the consumer and event it comes from), so a provider that honours
   * `Idempotency-Key` sends a retried mail once.
   */
  idempotencyKey?: string;
};

export interface EmailProvider {
  readonly name: 'dev-mailbox' | 'http';
  /** Resolves once the provider accepted the message; rejects otherwise. */
  send(message: EmailMessage): Promise<void>;
}
