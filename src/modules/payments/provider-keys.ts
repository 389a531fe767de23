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
  operation: 'authorize' | 'capture' | 'void',
  scope: string,
  parts: string[],
): Promise<string> {
  return `${PROVIDER_KEY_PREFIX}${operation}:${scope}:${(await sha256Hex(parts.join('\n'))).slice(0, 32)}`;
}

/**
 * The part of a refund's key every attempt of one request shares (see `refundKey`), by which a retry finds the
 * refund its first attempt made, whatever it sent.
 */
export async function refundRequestPrefix(paymentId: string, request: string): Promise<string> {
  return `${PROVIDER_KEY_PREFIX}refund:${paymentId}:${(await sha256Hex(request)).slice(0, 16)}:`;
}

/**
 * A refund's key: the request (the same in every retry) and what it sends (amount, reason), hashed apart. A provider
 * keeps its answer to a key, a refusal too, so a request corrected after a refusal must send another key.
 *
 * @example await refundKey('pay_01J...', 'order:ord_01J...:v3:refund:rest:', ['1500', '']) // "edgecart:refund:pay_01J...:9c1e...:52d0..."
 */
export async function refundKey(paymentId: string, request: string, sent: string[]): Promise<string> {
  return `${await refundRequestPrefix(paymentId, request)}${(await sha256Hex(sent.join('\n'))).slice(0, 16)}`;
}

/** Whether a provider request was made by edgecart (its idempotency key is one of ours). */
export const madeByEdgecart = (idempotencyKey: string | null | undefined) =>
  idempotencyKey?.startsWith(PROVIDER_KEY_PREFIX) === true;
