import { describe, expect, it } from 'vitest';
import { clientNetwork } from '../../src/modules/sessions/login-failures';

describe('clientNetwork (the unit a sign-in lock applies to)', () => {
  it.each([
    ['192.0.2.10', '192.0.2.10'],
    ['2001:db8:abcd:12:1:2:3:4', '2001:db8:abcd:12::/64'],
    ['2001:DB8:ABCD:0012::99', '2001:db8:abcd:12::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['::ffff:192.0.2.10', '192.0.2.10'],
    [null, 'unknown'],
  ])('%s -> %s', (ip, network) => {
    expect(clientNetwork(ip)).toBe(network);
  });
});
