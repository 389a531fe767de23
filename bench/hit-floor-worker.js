// The floor under a cache HIT on this runtime: a Worker that answers every request with what edgecart's listing
// HIT answers (the same body and headers, captured from a real HIT by bench/cache-hit.mjs and passed in as
// bindings) and writes one JSON log line of the same shape, with no routing, middleware or lookups. What a HIT
// costs beyond this is edgecart's own code; what this costs beyond hello-world is the response and the log line.
export default {
  fetch(request, env) {
    const headers = new Headers(JSON.parse(env.HEADERS));
    const requestId = crypto.randomUUID();
    headers.set('X-Request-Id', requestId);
    console.log(
      JSON.stringify({
        level: 'info',
        msg: 'request',
        time: new Date().toISOString(),
        request_id: requestId,
        method: request.method,
        path: new URL(request.url).pathname,
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
    return new Response(env.BODY, { headers });
  },
};
