// The floor under a cache HIT on this runtime: a Worker that answers every request with what edgecart's listing
// HIT answers (the same body bytes and headers, captured from a real HIT by bench/cache-hit.mjs and passed in as
// bindings, prepared once per isolate) and writes one JSON log line of the same shape, with no routing,
// middleware or lookups. What a HIT costs beyond this is edgecart's own code; what this costs beyond hello-world
// is the response itself and the log line.
let prepared;

export default {
  fetch(request, env) {
    prepared ??= { body: new TextEncoder().encode(env.BODY), headers: new Headers(JSON.parse(env.HEADERS)) };
    const response = new Response(prepared.body, { headers: prepared.headers });
    const requestId = crypto.randomUUID();
    response.headers.set('X-Request-Id', requestId);
    console.log(
      JSON.stringify({
        level: 'info',
        msg: 'request',
        time: new Date().toISOString(),
        request_id: requestId,
        method: request.method,
        path: '/v1/store/products',
        status: 200,
        duration_ms: 0,
        cache: 'HIT',
        region: 'eu',
        country: request.cf?.country,
        d1_queries: 0,
        d1_rows_read: 0,
        d1_rows_written: 0,
      }),
    );
    return response;
  },
};
