/**
 * When a failed delivery is tried again. The delays are the Standard Webhooks specification's example schedule
 * (immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts over about 27.6 hours), each
 * spread by ±10 % so deliveries that failed together (a receiver's outage) do not all return at once. A
 * receiver's `Retry-After` can lengthen a wait, never shorten it, and no wait exceeds the queue's 12-hour limit
 * on a delay.
 */

/** Seconds to wait after attempt n has failed, at index n - 1. */
export const RETRY_DELAYS_SECONDS = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000] as const;
export const MAX_ATTEMPTS = RETRY_DELAYS_SECONDS.length + 1;
/** Cloudflare Queues accept a delay of at most 12 hours. */
export const MAX_DELAY_SECONDS = 12 * 3600;
const JITTER = 0.1;

/**
 * Seconds until the attempt after failed attempt `attempt`, or undefined when it was the last. `random` in [0, 1)
 * places the wait within the jitter band (0.5 is the schedule's own value).
 */
export function retryDelaySeconds(
  attempt: number,
  retryAfterSeconds: number | undefined,
  random: number,
): number | undefined {
  const base = RETRY_DELAYS_SECONDS[attempt - 1];
  if (base === undefined) return undefined;
  const jittered = Math.round(base * (1 - JITTER + 2 * JITTER * random));
  return Math.min(MAX_DELAY_SECONDS, Math.max(jittered, retryAfterSeconds ?? 0));
}

/** `Retry-After` (RFC 9110 §10.2.3) as seconds from `now`: delay-seconds or an HTTP date; undefined if neither. */
export function parseRetryAfter(value: string | null, now: Date): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}
