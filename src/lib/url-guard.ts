/**
 * The one gate for every outbound URL an admin or a user can configure (OpenID issuer and JWKS URLs, webhook
 * endpoints). Checked twice: when the URL is stored (a clear 422) and again right before each fetch (a row
 * written by other means, or a rule tightened since, must not make the Worker connect anywhere).
 *
 * Rules (outside production, `localhost` and `127.0.0.1` over http or https on any port are allowed, so a local
 * issuer can be tried out and a developer can receive webhooks on their machine; every other rule holds in every
 * environment):
 * - https only, no user name or password in the URL, no explicit port other than 443: real issuers and webhook
 *   receivers answer on the default port, and an odd port is how internal services are usually reached;
 * - no IP literal in a loopback, private, link-local, unique-local, CGNAT, metadata, multicast or reserved
 *   range, for IPv4 in any spelling (the URL parser turns `0x7f.1`, `2130706433` and `0177.0.0.1` into
 *   `127.0.0.1`) and IPv6, including IPv4-mapped, IPv4-translated, IPv4-compatible, NAT64 and 6to4 addresses
 *   of such IPv4, and the local-use NAT64 prefix;
 * - no `localhost`, `*.localhost`, `*.internal`, `*.local` or single-label names (they resolve only inside
 *   a network), and no empty label (`intranet..`, `.intranet`, `127.0.0.1..`): one trailing dot (a fully
 *   qualified name) is the only one allowed, so no spelling of a refused name gets past these rules;
 * - redirects are refused, not followed (`guardedFetch`), so an allowed URL cannot bounce the Worker elsewhere.
 *
 * A Worker has no DNS API, so a public name that resolves to a private address cannot be caught here; deployed,
 * a Worker's fetch leaves through Cloudflare's network to the public internet, where such addresses lead nowhere.
 */
import { AppError, type FieldError } from './errors';

export type UrlCheck = { allowed: true; url: URL } | { allowed: false; reason: string };

/** A fetch the guard refused: a URL it does not allow (`kind: 'url'`), or a redirect (`kind: 'redirect'`). */
export class OutboundUrlRefused extends Error {
  constructor(
    readonly reason: string,
    readonly kind: 'url' | 'redirect' = 'url',
  ) {
    super(`outbound URL refused: ${reason}`);
    this.name = 'OutboundUrlRefused';
  }
}

const DEV_LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1']);
const LOCAL_NAME = /(^|\.)(localhost|internal|local)$/;

/** [first address as a 32-bit number, prefix length] */
const BLOCKED_V4: Array<[number, number]> = [
  [v4('0.0.0.0'), 8], // "this network"
  [v4('10.0.0.0'), 8], // private
  [v4('100.64.0.0'), 10], // CGNAT (also some clouds' metadata, e.g. 100.100.100.200)
  [v4('127.0.0.0'), 8], // loopback
  [v4('169.254.0.0'), 16], // link-local, including the 169.254.169.254 metadata service
  [v4('172.16.0.0'), 12], // private
  [v4('192.0.0.0'), 24], // IETF protocol assignments
  [v4('192.0.2.0'), 24], // documentation
  [v4('192.88.99.0'), 24], // 6to4 relay anycast
  [v4('192.168.0.0'), 16], // private
  [v4('198.18.0.0'), 15], // benchmarking
  [v4('198.51.100.0'), 24], // documentation
  [v4('203.0.113.0'), 24], // documentation
  [v4('224.0.0.0'), 4], // multicast
  [v4('240.0.0.0'), 4], // reserved, broadcast
];

function v4(dotted: string): number {
  return dotted.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function blockedV4(address: number): boolean {
  return BLOCKED_V4.some(
    ([base, bits]) => Math.floor(address / 2 ** (32 - bits)) === base / 2 ** (32 - bits),
  );
}

/** The eight 16-bit groups of an IPv6 address as the URL parser serializes it (hex groups, `::` at most once). */
function v6Groups(address: string): number[] | undefined {
  const [head = '', tail, extra] = address.split('::');
  if (extra !== undefined) return undefined;
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const groups =
    tail === undefined ? left : [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff)
    ? groups
    : undefined;
}

const v4From = (high: number, low: number) => high * 65536 + low;

function blockedV6(address: string): boolean {
  const g = v6Groups(address);
  if (!g) return true;
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  const embedded = v4From(g6, g7);
  const zeroTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroTo(5) && g5 === 0xffff) return blockedV4(embedded); // IPv4-mapped ::ffff:a.b.c.d
  if (zeroTo(4) && g4 === 0xffff && g5 === 0) return blockedV4(embedded); // IPv4-translated ::ffff:0:a.b.c.d
  if (zeroTo(6)) return true; // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    return blockedV4(embedded); // NAT64 64:ff9b::a.b.c.d
  }
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) return true; // local-use NAT64 64:ff9b:1::/48, a network's own
  if (g0 === 0x2002) return blockedV4(v4From(g1, g2)); // 6to4 2002:a.b.c.d::
  if ((g0 & 0xfe00) === 0xfc00) return true; // unique local fc00::/7 (AWS metadata fd00:ec2::254)
  if ((g0 & 0xffc0) === 0xfe80 || (g0 & 0xffc0) === 0xfec0) return true; // link-local, old site-local
  if ((g0 & 0xff00) === 0xff00) return true; // multicast
  if (g0 === 0x2001 && (g1 === 0 || g1 === 0xdb8)) return true; // Teredo, documentation
  return g0 === 0x100 && g1 === 0 && g2 === 0 && g3 === 0; // discard-only 100::/64
}

function hostReason(host: string): string | undefined {
  if (host.startsWith('['))
    return blockedV6(host.slice(1, -1)) ? 'a private or reserved IPv6 address' : undefined;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) {
    return blockedV4(v4(host)) ? 'a private or reserved IPv4 address' : undefined;
  }
  const name = host.replace(/\.$/, '');
  if (name.split('.').includes('')) return 'an empty label in the host name';
  if (LOCAL_NAME.test(name)) return 'a local host name';
  if (!name.includes('.')) return 'a single-label host name';
  return undefined;
}

export function checkOutboundUrl(raw: string, environment: string | undefined): UrlCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { allowed: false, reason: 'not a URL' };
  }
  if (url.username || url.password) return { allowed: false, reason: 'credentials in the URL' };
  const local = environment === 'development' || environment === 'test';
  if (local && DEV_LOOPBACK_HOSTS.has(url.hostname) && /^https?:$/.test(url.protocol)) {
    return { allowed: true, url };
  }
  if (url.protocol !== 'https:') return { allowed: false, reason: 'not https' };
  if (url.port !== '') return { allowed: false, reason: 'a port other than 443' };
  const reason = hostReason(url.hostname);
  return reason ? { allowed: false, reason } : { allowed: true, url };
}

/** 422 `url_not_allowed` naming every refused field, for URLs an admin or user is about to store. */
export function assertUrlsAllowed(
  environment: string | undefined,
  urls: Record<string, string | undefined>,
): void {
  const errors: FieldError[] = [];
  for (const [pointer, raw] of Object.entries(urls)) {
    if (raw === undefined) continue;
    const check = checkOutboundUrl(raw, environment);
    if (!check.allowed) errors.push({ pointer, message: `Not allowed: ${check.reason}` });
  }
  if (errors.length > 0) {
    throw new AppError(422, 'url_not_allowed', 'The Worker may not connect to this URL.', { errors });
  }
}

/**
 * `fetch` for configured URLs: checks the URL again and never follows a redirect (a 3xx is refused).
 * Throws `OutboundUrlRefused`; network errors propagate as `fetch` throws them.
 */
export async function guardedFetch(
  raw: string,
  environment: string | undefined,
  init: RequestInit = {},
): Promise<Response> {
  const check = checkOutboundUrl(raw, environment);
  if (!check.allowed) throw new OutboundUrlRefused(check.reason);
  const res = await fetch(check.url.href, { ...init, redirect: 'manual' });
  if (res.status >= 300 && res.status < 400) {
    await res.body?.cancel();
    throw new OutboundUrlRefused(`a redirect (${res.status})`, 'redirect');
  }
  return res;
}
