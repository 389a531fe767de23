/**
 * Payment settings from the environment, read in one place:
 * - `PAYMENT_PROVIDERS` (var): comma-separated providers new payments may use, the first being the default.
 *   wrangler.toml says `stripe`; `npm run dev` writes `manual` to .dev.vars. The manual provider takes orders
 *   without money, so a production deployment has it only if this list names it.
 * - `PAYMENT_TIMEOUT_MS` (var): how long one provider call may take, in ms (wrangler.toml: 10000).
 * - `STRIPE_SECRET_KEY`, `STRIPE_WEBHOOK_SECRET` (optional secrets): needed only where `stripe` is used, so
 *   they are not under `[secrets] required` and a clone without a Stripe account still runs `npm run dev`.
 * A malformed setting throws: a misconfigured deployment fails loudly (a logged 500), never quietly.
 */
import { PAYMENT_PROVIDERS, type PaymentProviderName } from '../../db/schema';

type OptionalSecrets = { STRIPE_SECRET_KEY?: string; STRIPE_WEBHOOK_SECRET?: string };

const isProviderName = (name: string): name is PaymentProviderName =>
  (PAYMENT_PROVIDERS as readonly string[]).includes(name);

/** The providers new payments may use, in the configured order (the first is the default). */
export function enabledProviders(env: Env): PaymentProviderName[] {
  const names = env.PAYMENT_PROVIDERS.split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = names.filter((name) => !isProviderName(name));
  if (names.length === 0 || unknown.length > 0) {
    throw new Error(`PAYMENT_PROVIDERS must list some of ${PAYMENT_PROVIDERS.join(', ')}`);
  }
  return names.filter(isProviderName);
}

export function providerTimeoutMs(env: Env): number {
  const ms = Number(env.PAYMENT_TIMEOUT_MS);
  if (!Number.isInteger(ms) || ms < 1) throw new Error('PAYMENT_TIMEOUT_MS must be a whole number of ms');
  return ms;
}

/** A Stripe secret, or a thrown configuration error naming it. */
export function stripeSecret(env: Env, name: keyof OptionalSecrets): string {
  const value = (env as Env & OptionalSecrets)[name];
  if (!value) throw new Error(`${name} is not set; see README "Payments"`);
  return value;
}
