/**
 * D1 sessions on the admin surface (src/middleware/read-your-writes.ts): every admin answer carries the
 * session's bookmark in X-D1-Bookmark; a read that sends it back runs in a session starting at it and sees the
 * write that produced it. Locally there is one database, so what is checked is the contract: the header, its
 * shape, that it only moves forward, that a malformed one is ignored rather than failing the request, and that
 * browsers may send and read it.
 */
import { describe, expect, it } from 'vitest';
import { admin, createProduct, productInput } from '../helpers/admin-fixtures';
import { call } from '../helpers/http';

const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;

describe('X-D1-Bookmark', () => {
  it('comes with a write, and a read that sends it back sees the write and a bookmark no older', async () => {
    await createProduct();
    const written = await admin(
      'POST',
      '/products',
      productInput({ translations: { en: { title: 'Fresh' } } }),
    );
    expect(written.status).toBe(201);
    const bookmark = written.headers.get('X-D1-Bookmark') as string;
    expect(bookmark).toMatch(BOOKMARK);
    const { id } = (await written.json()) as { id: string };

    const read = await admin('GET', `/products/${id}`, undefined, { headers: { 'X-D1-Bookmark': bookmark } });
    expect(read.status).toBe(200);
    expect(((await read.json()) as { translations: { en: { title: string } } }).translations.en.title).toBe(
      'Fresh',
    );
    const next = read.headers.get('X-D1-Bookmark') as string;
    expect(next).toMatch(BOOKMARK);
    expect(next >= bookmark).toBe(true);
  });

  it('ignores a bookmark that is not one, reading from the primary instead', async () => {
    const res = await admin('GET', '/products?limit=1', undefined, {
      headers: { 'X-D1-Bookmark': 'latest' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('X-D1-Bookmark')).toMatch(BOOKMARK);
    await res.arrayBuffer();
  });

  it('is not sent by the storefront, whose reads are cached and versioned instead', async () => {
    const res = await call('/v1/store/regions', { cf: { country: 'DE' } });
    expect(res.headers.get('X-D1-Bookmark')).toBeNull();
    await res.arrayBuffer();
  });

  it('may be sent and read by browsers (CORS)', async () => {
    const preflight = await call('/v1/admin/products', {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://admin.test',
        'Access-Control-Request-Method': 'GET',
        'Access-Control-Request-Headers': 'x-d1-bookmark',
      },
    });
    expect(preflight.headers.get('Access-Control-Allow-Headers')?.split(',')).toContain('X-D1-Bookmark');
    const res = await admin('GET', '/products?limit=1', undefined, {
      headers: { Origin: 'https://admin.test' },
    });
    expect(res.headers.get('Access-Control-Expose-Headers')?.split(',')).toContain('X-D1-Bookmark');
    await res.arrayBuffer();
  });
});
