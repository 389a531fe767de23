/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): `traceparent: 00-<trace id>-<parent id>-<flags>`.
 * A request continues the trace its caller sent, or starts one whose trace id is the request id, so our logs and a
 * receiver's traces join on one value. Each hop (the request, a consumer handling its event) is a span of its own:
 * same trace id, new parent id.
 */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ALL_ZEROS = /^0+$/;

function spanId(): string {
  return [...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The trace id and flags of a valid version-00 traceparent, or null (an invalid one starts a new trace, per the spec). */
function parse(traceparent: string | null | undefined): { traceId: string; flags: string } | null {
  const match = TRACEPARENT.exec(traceparent ?? '');
  if (!match?.[1] || !match[2] || !match[3] || ALL_ZEROS.test(match[1]) || ALL_ZEROS.test(match[2]))
    return null;
  return { traceId: match[1], flags: match[3] };
}

/**
 * The traceparent of a request: the incoming trace continued, else a new trace named after the request id (a UUID,
 * whose 32 hex digits are a valid trace id), sampled.
 *
 * @example requestTraceparent(undefined, '4bf92f35-77b3-4da6-a3ce-929d0e0e4736') // "00-4bf92f3577b34da6a3ce929d0e0e4736-<16 hex>-01"
 */
export function requestTraceparent(incoming: string | undefined, requestId: string): string {
  const parent = parse(incoming);
  const traceId = parent?.traceId ?? requestId.replaceAll('-', '').toLowerCase();
  return `00-${traceId}-${spanId()}-${parent?.flags ?? '01'}`;
}

/** A span inside the trace of `traceparent` (a consumer handling an event), or null when there is no trace. */
export function childTraceparent(traceparent: string | null): string | null {
  const parent = parse(traceparent);
  return parent ? `00-${parent.traceId}-${spanId()}-${parent.flags}` : null;
}

/** The trace id of a traceparent, for log lines. */
export function traceIdOf(traceparent: string | null): string | undefined {
  return parse(traceparent)?.traceId;
}
