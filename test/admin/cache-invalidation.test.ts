import { describe, expect, it } from 'vitest';
import { admin, createRegion, expectRejected } from '../helpers/admin-fixtures';
import { call } from '../helpers/http';

type RegionList = { data: { code: string; name: string }[] };

const storeRegions = () => call('/v1/store/regions', { cf: { country: 'DE' } });

describe('an admin write reaches the storefront at once', () => {
  it('serves the cached region list until the region is renamed, then the new name', async () => {
    const region = await createRegion({ name: 'Europe', countries: ['DE'] });

    const first = await storeRegions();
    expect(first.status).toBe(200);
    expect(first.headers.get('X-Cache')).toBe('MISS');
    expect((await first.json<RegionList>()).data.find((r) => r.code === region.code)?.name).toBe('Europe');

    const second = await storeRegions();
    expect(second.headers.get('X-Cache')).toBe('HIT');
    await second.arrayBuffer();

    const patched = await admin('PATCH', `/regions/${region.id}`, { name: 'Europa' });
    expect(patched.status).toBe(200);

    const third = await storeRegions();
    expect(third.status).toBe(200);
    expect(third.headers.get('X-Cache')).toBe('MISS');
    expect((await third.json<RegionList>()).data.find((r) => r.code === region.code)?.name).toBe('Europa');
  });

  it('keeps serving the cache after a rejected write', async () => {
    const region = await createRegion({ countries: ['FR'] });
    await (await storeRegions()).arrayBuffer();
    expect((await storeRegions()).headers.get('X-Cache')).toBe('HIT');

    await expectRejected(
      () => admin('PATCH', `/regions/${region.id}`, { currency: 'XYZ' }),
      422,
      'validation_failed',
      [{ pointer: '/body/currency', message: expect.any(String) }],
    );

    expect((await storeRegions()).headers.get('X-Cache')).toBe('HIT');
  });
});
