/** The outbound URL guard: which configured URLs the Worker may connect to, and why the others are refused. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkOutboundUrl, guardedFetch, OutboundUrlRefused } from '../../src/lib/url-guard';

const verdict = (raw: string, environment: string) => {
  const check = checkOutboundUrl(raw, environment);
  return check.allowed ? 'allowed' : check.reason;
};

const V4 = 'a private or reserved IPv4 address';
const V6 = 'a private or reserved IPv6 address';
const EMPTY_LABEL = 'an empty label in the host name';

describe('checkOutboundUrl in production', () => {
  it.each([
    ['https://accounts.google.com', 'allowed'],
    ['https://www.googleapis.com/oauth2/v3/certs', 'allowed'],
    ['https://login.example.com:443/keys', 'allowed'],
    ['https://8.8.8.8/jwks', 'allowed'],
    ['https://[2606:4700:4700::1111]/jwks', 'allowed'],
    ['https://[::ffff:8.8.8.8]/jwks', 'allowed'],
    ['https://[::ffff:0:8.8.8.8]/jwks', 'allowed'],
    ['not a url', 'not a URL'],
    ['http://accounts.example.com', 'not https'],
    ['ftp://accounts.example.com', 'not https'],
    ['http://localhost/jwks', 'not https'],
    ['https://user:secret@accounts.example.com', 'credentials in the URL'],
    ['https://user@accounts.example.com', 'credentials in the URL'],
    ['https://accounts.example.com:8443/jwks', 'a port other than 443'],
    ['https://localhost/jwks', 'a local host name'],
    ['https://LOCALHOST./jwks', 'a local host name'],
    ['https://keys.localhost/jwks', 'a local host name'],
    ['https://metadata.google.internal/', 'a local host name'],
    ['https://printer.local/', 'a local host name'],
    ['https://intranet/jwks', 'a single-label host name'],
    ['https://accounts.google.com./jwks', 'allowed'],
    ['https://intranet../jwks', EMPTY_LABEL],
    ['https://printer.local../', EMPTY_LABEL],
    ['https://metadata.google.internal../computeMetadata/v1/', EMPTY_LABEL],
    ['https://.intranet/jwks', EMPTY_LABEL],
    ['https://accounts..example.com/jwks', EMPTY_LABEL],
    ['https://127.0.0.1../jwks', EMPTY_LABEL],
    ['https://127.0.0.1/jwks', V4],
    ['https://127.1/jwks', V4],
    ['https://2130706433/jwks', V4],
    ['https://0x7f.0.0.1/jwks', V4],
    ['https://0177.0.0.1/jwks', V4],
    ['https://0/jwks', V4],
    ['https://10.1.2.3/', V4],
    ['https://172.16.0.1/', V4],
    ['https://172.31.255.255/', V4],
    ['https://192.168.1.1/', V4],
    ['https://100.64.0.1/', V4],
    ['https://100.100.100.200/', V4],
    ['https://169.254.169.254/latest/meta-data/', V4],
    ['https://0xa9fea9fe/', V4],
    ['https://224.0.0.1/', V4],
    ['https://255.255.255.255/', V4],
    ['https://[::1]/', V6],
    ['https://[::]/', V6],
    ['https://[::ffff:127.0.0.1]/', V6],
    ['https://[::ffff:a9fe:a9fe]/', V6],
    ['https://[0:0:0:0:0:ffff:10.0.0.1]/', V6],
    ['https://[::ffff:0:7f00:1]/', V6],
    ['https://[::ffff:0:169.254.169.254]/', V6],
    ['https://[::127.0.0.1]/', V6],
    ['https://[64:ff9b::169.254.169.254]/', V6],
    ['https://[64:ff9b:1::808:808]/', V6],
    ['https://[2002:a00:1::]/', V6],
    ['https://[fd00:ec2::254]/', V6],
    ['https://[fc00::1]/', V6],
    ['https://[fe80::1]/', V6],
    ['https://[ff02::1]/', V6],
    ['https://[2001:db8::1]/', V6],
  ])('%s -> %s', (raw, expected) => {
    expect(verdict(raw, 'production')).toBe(expected);
  });

  it('keeps 172.15.x and 172.32.x (outside 172.16/12) and public 6to4 addresses', () => {
    expect(verdict('https://172.15.255.255/', 'production')).toBe('allowed');
    expect(verdict('https://172.32.0.1/', 'production')).toBe('allowed');
    expect(verdict('https://[2002:808:808::]/', 'production')).toBe('allowed');
  });

  it('fails closed when ENVIRONMENT is missing or unknown', () => {
    for (const environment of [undefined, '', 'staging']) {
      expect(checkOutboundUrl('http://localhost:8790/jwks', environment)).toStrictEqual({
        allowed: false,
        reason: 'not https',
      });
    }
  });
});

describe('checkOutboundUrl in development and test', () => {
  it.each([
    ['http://localhost:8790/jwks', 'allowed'],
    ['http://127.0.0.1:9000/jwks', 'allowed'],
    ['https://localhost/jwks', 'allowed'],
    ['http://accounts.example.com/jwks', 'not https'],
    ['http://user:pw@localhost:8790/jwks', 'credentials in the URL'],
    ['http://127.0.0.2/jwks', 'not https'],
    ['https://127.0.0.2/jwks', V4],
    ['https://keys.localhost/jwks', 'a local host name'],
    ['https://169.254.169.254/', V4],
    ['http://[::1]:8790/', 'not https'],
  ])('%s -> %s', (raw, expected) => {
    expect(verdict(raw, 'development')).toBe(expected);
    expect(verdict(raw, 'test')).toBe(expected);
  });
});

describe('guardedFetch', () => {
  afterEach(() => vi.restoreAllMocks());

  it('refuses a URL the guard refuses without fetching', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    await expect(guardedFetch('https://169.254.169.254/', 'production')).rejects.toStrictEqual(
      new OutboundUrlRefused(V4),
    );
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('fetches with redirect: manual and refuses a redirect', async () => {
    const fetchSpy = vi
      .spyOn(globalThis, 'fetch')
      .mockResolvedValue(
        new Response(null, { status: 302, headers: { Location: 'https://169.254.169.254/' } }),
      );
    const refused = await guardedFetch('https://keys.example.com/jwks', 'production').catch((e) => e);
    expect(refused).toBeInstanceOf(OutboundUrlRefused);
    expect(refused).toMatchObject({ reason: 'a redirect (302)', kind: 'redirect' });
    expect(fetchSpy).toHaveBeenCalledTimes(1);
    expect(fetchSpy.mock.calls[0]?.[0]).toBe('https://keys.example.com/jwks');
    expect(fetchSpy.mock.calls[0]?.[1]).toMatchObject({ redirect: 'manual' });
  });

  it('answers a 200 as it came', async () => {
    vi.spyOn(globalThis, 'fetch').mockResolvedValue(Response.json({ keys: [] }));
    const res = await guardedFetch('https://keys.example.com/jwks', 'production');
    expect(await res.json()).toStrictEqual({ keys: [] });
  });
});
