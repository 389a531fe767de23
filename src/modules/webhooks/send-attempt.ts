/**
 * One HTTP request of a webhook delivery: POST the signed body through the outbound URL guard (the URL is
 * checked again, redirects are refused), under one deadline that covers the response headers and the excerpt of
 * the body kept for the delivery log: a status in time is the answer, however long its body goes on. Never
 * throws: every way a request can go wrong is an outcome to record.
 */
import type { WEBHOOK_ATTEMPT_ERRORS } from '../../db/schema';
import { guardedFetch, OutboundUrlRefused } from '../../lib/url-guard';
import { parseRetryAfter } from './retry-schedule';

/** A receiver must answer within this; Standard Webhooks senders commonly allow 15 s. */
export const ATTEMPT_TIMEOUT_MS = 15_000;
/** How much of a response body the delivery log keeps. */
export const RESPONSE_EXCERPT_BYTES = 1024;

export type AttemptOutcome = {
  status: number | null;
  error: (typeof WEBHOOK_ATTEMPT_ERRORS)[number] | null;
  excerpt: string | null;
  latencyMs: number;
  /** From the response's `Retry-After`, in seconds. */
  retryAfterSeconds: number | undefined;
};

/**
 * The first RESPONSE_EXCERPT_BYTES of the body as text (a character cut in half is dropped); null if empty. A body
 * cut short (the deadline ran out while it was still coming, or the receiver dropped the connection) leaves what
 * had arrived: the status was answered in time, and it is the answer.
 */
async function readExcerpt(res: Response): Promise<string | null> {
  if (!res.body) return null;
  const reader = res.body.getReader();
  const bytes = new Uint8Array(RESPONSE_EXCERPT_BYTES);
  let length = 0;
  try {
    while (length < RESPONSE_EXCERPT_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      const take = value.subarray(0, RESPONSE_EXCERPT_BYTES - length);
      bytes.set(take, length);
      length += take.length;
    }
    await reader.cancel();
  } catch {
    // Cut short: the excerpt is what came before.
  }
  const text = new TextDecoder().decode(bytes.subarray(0, length), { stream: true });
  return text === '' ? null : text;
}

export async function sendAttempt(
  environment: string | undefined,
  url: string,
  headers: Record<string, string>,
  body: string,
  now: Date,
): Promise<AttemptOutcome> {
  const failed = (error: AttemptOutcome['error'], latencyMs: number): AttemptOutcome => ({
    status: null,
    error,
    excerpt: null,
    latencyMs,
    retryAfterSeconds: undefined,
  });
  // A timer of our own rather than AbortSignal.timeout: the deadline also cuts reading the excerpt, and tests can
  // reach it with fake timers instead of waiting 15 s.
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), ATTEMPT_TIMEOUT_MS);
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const res = await guardedFetch(url, environment, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'User-Agent': 'edgecart-webhooks/1', ...headers },
      body,
      signal: deadline.signal,
    });
    const latencyMs = elapsed();
    return {
      status: res.status,
      error: null,
      excerpt: await readExcerpt(res),
      latencyMs,
      retryAfterSeconds: parseRetryAfter(res.headers.get('Retry-After'), now),
    };
  } catch (error) {
    if (error instanceof OutboundUrlRefused) {
      return failed(error.kind === 'redirect' ? 'redirect_refused' : 'url_refused', elapsed());
    }
    return failed(deadline.signal.aborted ? 'timeout' : 'network_error', elapsed());
  } finally {
    clearTimeout(timer);
  }
}
