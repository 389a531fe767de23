/**
 * The idempotency keys edgecart sends to providers. A client's Idempotency-Key is only unique for that client,
 * and a provider's keys are account-wide, so each is scoped by the operation and the cart or payment it acts on
 * (and, for an authorization, the amount: a cart whose total changed is a new payment, not a replay). The
 * client's key and the amount are hashed, keeping the key short and free of anything the client typed.
 *
 * The prefix also marks provider events caused by edgecart's own calls: the webhook leaves their recording
 * to the call that made them (see webhook-service.ts).
 */
import { sha256Hex } from '../../lib/crypto';

const PROVIDER_KEY_PREFIX = 'edgecart:';

/** @example await providerKey('capture', 'pay_01J...', ['4200', clientKey]) // "edgecart:capture:pay_01J...:3f9a..." */
export async function providerKey(
  operation: 'authorize' | 'capture' | 'refund' | 'void',
  scope: string,
  parts: string[],
): Promise<string> {
  return `${PROVIDER_KEY_PREFIX}${operation}:${scope}:${(await sha256Hex(parts.join('\n'))).slice(0, 32)}`;
}

/** Whether a provider request was made by edgecart (its idempotency key is one of ours). */
export const madeByEdgecart = (idempotencyKey: string | null | undefined) =>
  idempotencyKey?.startsWith(PROVIDER_KEY_PREFIX) === true;
