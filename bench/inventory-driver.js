// Drives one hot SKU's InventoryItem object the way carts and checkout do: a Worker calling the object over RPC
// (src/modules/inventory/stock.ts does exactly these calls). Used by bench/inventory-hot-sku.mjs only.
const VARIANT_ID = 'var_BENCH_HOT_SKU';
const REF = { variantId: VARIANT_ID, sku: 'BENCH-HOT' };
const TTL_MS = 15 * 60_000;
const ACTOR = { type: 'system', id: 'bench' };

function hold() {
  return { reservationId: crypto.randomUUID(), owner: 'bench-cart', quantity: 1, ttlMs: TTL_MS };
}

const routes = {
  // The Worker alone, no object: the ceiling of this driver.
  '/noop': async () => new Response('ok'),
  '/snapshot': async (stock) => Response.json(await stock.snapshot(REF)),
  // One cart line added then removed: two RPCs, two storage transactions; holds do not accumulate.
  '/cycle': async (stock) => {
    const held = await stock.reserve(REF, hold());
    if (!held.ok) return new Response('out of stock', { status: 409 });
    await stock.release(REF, held.reservationId);
    return new Response('ok');
  },
  // A flash sale: every request holds one unit and keeps it; 409 once none is left.
  '/reserve': async (stock) => {
    const held = await stock.reserve(REF, hold());
    return new Response(held.ok ? 'ok' : 'out of stock', { status: held.ok ? 200 : 409 });
  },
  '/setup': async (stock, url) => {
    const onHand = Number(url.searchParams.get('on_hand'));
    const set = await stock.setOnHand(REF, {
      adjustmentId: crypto.randomUUID(),
      onHand,
      reason: 'bench',
      actor: ACTOR,
      requestId: crypto.randomUUID(),
    });
    await stock.flush();
    return Response.json(set.stock);
  },
};

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const route = routes[url.pathname];
    if (!route) return new Response('not found', { status: 404 });
    const stock = env.INVENTORY_ITEM.get(env.INVENTORY_ITEM.idFromName(VARIANT_ID));
    try {
      return await route(stock, url);
    } catch (error) {
      // An object that refuses (overloaded, reset) or times out: counted apart from stock refusals (409).
      return new Response(String(error?.message ?? error).slice(0, 200), { status: 503 });
    }
  },
};
