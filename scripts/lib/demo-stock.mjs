// Stock for the demo catalog. A variant's stock lives in its InventoryItem Durable Object, which only the running
// Worker can reach, so `npm run dev` sets it through the staff API once `wrangler dev` answers, the way staff
// would: one `PUT /v1/admin/inventory/{variant_id}` per variant, with a reason.

/** Units each demo variant starts with. */
export const DEMO_ON_HAND = 100;
const CONCURRENCY = 8;
const READY_TIMEOUT_MS = 120_000;

async function untilReady(origin) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      if ((await fetch(`${origin}/health`)).ok) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline)
      throw new Error(`${origin} did not answer within ${READY_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Sets DEMO_ON_HAND for every variant in `variantIds`; returns how many were stocked. */
export async function stockDemoCatalog(origin, secretKey, variantIds) {
  await untilReady(origin);
  let next = 0;
  const put = async () => {
    while (next < variantIds.length) {
      const id = variantIds[next++];
      const res = await fetch(`${origin}/v1/admin/inventory/${id}`, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${secretKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ on_hand: DEMO_ON_HAND, reason: 'Demo stock' }),
      });
      if (!res.ok) throw new Error(`PUT /v1/admin/inventory/${id}: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, put));
  return variantIds.length;
}
