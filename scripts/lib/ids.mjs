// The Worker's id format (src/lib/ids.ts): `<prefix>_<ULID>` — 10 Crockford base32 characters of milliseconds,
// then 16 random ones. Scripts write rows the Worker reads, so they must produce the same shape.
// Web Crypto only, so the Workers runtime can import it too (the owner-invite test does).

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function newId(prefix, now = Date.now(), random = (n) => crypto.getRandomValues(new Uint8Array(n))) {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let tail = '';
  for (const b of random(16)) tail += ALPHABET[b % 32];
  return `${prefix}_${time}${tail}`;
}
