// `npm run bench:hit [-- --duration 10] [-- --connections 20] [-- --rounds 3] [-- --bundle path] [-- --profile]`
// How close a storefront cache HIT comes to the runtime's floor: the listing (and a detail page) served from the
// isolate's memory tier, against a bare hello-world Worker on the same runtime (bench/lib/runtime.mjs), in
// alternating rounds so that load from other processes falls on both alike. Three ratios: throughput; the
// workerd process's CPU time per request (user + system, from /proc); and the service time of one request at a
// time (the 10th percentile of sequential keep-alive requests, interleaved across the Workers), which load from
// other processes on a busy machine disturbs least. Prints one Markdown table with the machine's load average. `--bundle`
// measures another build of the Worker (e.g. an older commit's). `--profile` instead samples the Worker's CPU
// through the workerd inspector (Chrome DevTools protocol) while loading the listing HIT, and prints the
// functions with the most self time; with DUMP_PROFILE=<file.cpuprofile> it also writes the raw profile, which
// Chrome DevTools opens.
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { loadavg } from 'node:os';
import {
  applyMigrations,
  buildWorker,
  cpuSeconds,
  edgecartWorker,
  flag,
  HOST,
  hasFlag,
  load,
  MINIFLARE_VERSION,
  numberFlag,
  seedDemoCatalog,
  startWorkers,
  workerdPid,
} from './lib/runtime.mjs';

const DURATION = numberFlag('duration', 10);
const CONNECTIONS = numberFlag('connections', 20);
const ROUNDS = numberFlag('rounds', 3);
const SEQUENTIAL_ROUNDS = numberFlag('sequential-rounds', 20);
const SEQUENTIAL_BATCH = 50;
const APP_PORT = 8870;
const HELLO_PORT = 8871;
const FLOOR_PORT = 8872;
const INSPECTOR_PORT = 9279;
const BUNDLE = flag('bundle', undefined);
const LIST = '/v1/store/products?limit=20&region=eu';
const ORIGIN = 'http://localhost';

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const load1 = () => loadavg()[0].toFixed(2);
const percent = (x) => `${Math.round(100 * x)}%`;
/** Loads a Worker and measures its throughput and its workerd's CPU time per request, in µs. */
async function measured(pid, base, paths, options) {
  const before = cpuSeconds(pid);
  const result = await load(base, paths, options);
  const cpu = cpuSeconds(pid) - before;
  return { result, cpuPerRequest: (cpu * 1e6) / result.requests.total };
}

/** One GET over a keep-alive connection of its own; resolves with its latency in µs once the body is read. */
function timedGet(agent, port, path, headers) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    http
      .get({ host: HOST, port, path, agent, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(Number(process.hrtime.bigint() - started) / 1000));
      })
      .on('error', reject);
  });
}

/**
 * The 10th percentile of sequential request latencies per target, in µs: batches of SEQUENTIAL_BATCH requests,
 * one target after the other, SEQUENTIAL_ROUNDS times. With one request in flight, the low percentiles are the
 * service time without queueing behind other processes.
 */
async function serviceTimes(targets) {
  const agents = targets.map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const latencies = targets.map(() => []);
  for (let round = 0; round < SEQUENTIAL_ROUNDS; round++) {
    for (const [i, t] of targets.entries()) {
      for (let n = 0; n < SEQUENTIAL_BATCH; n++) {
        latencies[i].push(await timedGet(agents[i], t.port, t.path, t.headers));
      }
    }
  }
  for (const agent of agents) agent.destroy();
  return latencies.map((l) => [...l].sort((a, b) => a - b)[Math.floor(l.length / 10)]);
}

/** The built Worker, or the `--bundle` given, with the storefront's bindings. */
const edgecart = () =>
  edgecartWorker({
    database: 'bench-db',
    declared: ['AUTH_IP_RATE_LIMITER', 'AUTH_ACCOUNT_RATE_LIMITER'],
    scriptPath: BUNDLE,
  });

/** The schema and the demo catalog; returns the first active product's handle. */
async function seed(mf) {
  const db = await mf.getD1Database('DB');
  await applyMigrations(db);
  return seedDemoCatalog(db);
}

/** Requests each path once so the next ones are memory-tier hits, and checks that they are. */
async function warm(base, paths, headers = {}) {
  for (const path of paths) {
    await fetch(`${base}${path}`, { headers }).then((r) => r.arrayBuffer());
    const again = await fetch(`${base}${path}`, { headers });
    await again.arrayBuffer();
    if (again.headers.get('X-Cache') !== 'HIT') throw new Error(`${path} is not a cache HIT when warm`);
  }
}

async function measure() {
  const app = startWorkers(APP_PORT, [edgecart()]);
  const hello = startWorkers(HELLO_PORT, [{ name: 'hello', scriptPath: 'bench/hello-worker.js' }]);
  await Promise.all([app.ready, hello.ready]);
  const [appPid, helloPid] = [workerdPid(APP_PORT), workerdPid(HELLO_PORT)];
  const handle = await seed(app);
  const base = `http://${HOST}:${APP_PORT}`;
  const detail = `/v1/store/products/${handle}?region=eu`;
  await warm(base, [LIST, detail]);
  await warm(base, [LIST], { Origin: ORIGIN });
  // Without Accept-Encoding, as autocannon sends it: the answer's headers then name no compression.
  const hitAnswer = await fetch(`${base}${LIST}`, { headers: { 'Accept-Encoding': 'identity' } });
  const floor = startWorkers(FLOOR_PORT, [
    {
      name: 'floor',
      scriptPath: 'bench/hit-floor-worker.js',
      bindings: {
        BODY: await hitAnswer.text(),
        HEADERS: JSON.stringify(
          [...hitAnswer.headers].filter(([name]) => !['x-request-id', 'transfer-encoding'].includes(name)),
        ),
      },
    },
  ]);
  await floor.ready;
  const floorPid = workerdPid(FLOOR_PORT);

  const scenarios = [
    {
      name: 'floor: the listing HIT’s body, headers and log line, nothing else (bench/hit-floor-worker.js)',
      path: '/v1/store/products',
      headers: {},
      port: FLOOR_PORT,
      pid: floorPid,
    },
    { name: '`GET /v1/store/products?limit=20` HIT', path: LIST, headers: {} },
    { name: 'same, with an allowed `Origin` (CORS)', path: LIST, headers: { Origin: ORIGIN } },
    { name: '`GET /v1/store/products/{handle}` HIT', path: detail, headers: {} },
  ];
  const options = { connections: CONNECTIONS, duration: DURATION };
  const rows = scenarios.map((s) => ({
    ...s,
    rates: [],
    ratios: [],
    cpu: [],
    cpuRatios: [],
    p50: [],
    p99: [],
    failures: 0,
  }));
  const ceilings = [];
  const ceilingCpu = [];
  const loads = [load1()];
  for (let round = 0; round < ROUNDS; round++) {
    for (const row of rows) {
      const ceiling = await measured(helloPid, `http://${HOST}:${HELLO_PORT}`, () => '/', options);
      const hit = await measured(
        row.pid ?? appPid,
        row.port ? `http://${HOST}:${row.port}` : base,
        () => row.path,
        { ...options, headers: row.headers },
      );
      ceilings.push(ceiling.result.requests.average);
      ceilingCpu.push(ceiling.cpuPerRequest);
      row.rates.push(hit.result.requests.average);
      row.ratios.push(hit.result.requests.average / ceiling.result.requests.average);
      row.cpu.push(hit.cpuPerRequest);
      row.cpuRatios.push(ceiling.cpuPerRequest / hit.cpuPerRequest);
      row.p50.push(hit.result.latency.p50);
      row.p99.push(hit.result.latency.p99);
      row.failures += hit.result.errors + hit.result.timeouts + hit.result.non2xx;
    }
    loads.push(load1());
  }
  const [helloService, ...services] = await serviceTimes([
    { port: HELLO_PORT, path: '/', headers: {} },
    ...rows.map((r) => ({ port: r.port ?? APP_PORT, path: r.path, headers: r.headers })),
  ]);
  loads.push(load1());
  await Promise.all([app.dispose(), hello.dispose(), floor.dispose()]);

  console.log(
    [
      `Runtime: Miniflare ${MINIFLARE_VERSION} (workerd, real local bindings, no dev proxy), ${CONNECTIONS} connections, ` +
        `${DURATION} s per run, ${ROUNDS} rounds of hello-world then HIT; medians. Load average (1 min) over the ` +
        `run: ${loads.join(', ')}. Sequential: ${SEQUENTIAL_ROUNDS} rounds of ${SEQUENTIAL_BATCH} requests per Worker.`,
      '',
      '| scenario | req/s | p50 ms | p99 ms | errors + non-2xx | req/s vs hello-world (rounds) | workerd CPU µs/req | CPU vs hello-world (rounds) | sequential p10 µs | vs hello-world |',
      '|---|---|---|---|---|---|---|---|---|---|',
      `| bare hello-world Worker | ${Math.round(median(ceilings))} | | | | 100% | ${Math.round(median(ceilingCpu))} | 100% | ${Math.round(helloService)} | 100% |`,
      ...rows.map(
        (r, i) =>
          `| ${r.name} | ${Math.round(median(r.rates))} | ${median(r.p50)} | ${median(r.p99)} | ${r.failures} | ` +
          `**${percent(median(r.ratios))}** (${r.ratios.map(percent).join(', ')}) | ${Math.round(median(r.cpu))} | ` +
          `**${percent(median(r.cpuRatios))}** (${r.cpuRatios.map(percent).join(', ')}) | ` +
          `${Math.round(services[i])} | **${percent(helloService / services[i])}** |`,
      ),
    ].join('\n'),
  );
}

/** Sends Chrome DevTools protocol commands over one WebSocket and resolves each with its result. */
async function devtools(url) {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve, { once: true });
    socket.addEventListener('error', reject, { once: true });
  });
  const pending = new Map();
  let next = 1;
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(event.data);
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.error) waiter.reject(new Error(message.error.message));
    else waiter.resolve(message.result);
  });
  return {
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const id = next++;
        pending.set(id, { resolve, reject });
        socket.send(JSON.stringify({ id, method, params }));
      }),
    close: () => socket.close(),
  };
}

/** Self time per function (name and bundle position) as a share of all samples, largest first. */
function selfTimes(profile) {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  for (const id of profile.samples) {
    const { functionName, url, lineNumber, columnNumber } = byNode.get(id).callFrame;
    const where = url ? ` ${url.split('/').pop()}:${lineNumber + 1}:${columnNumber + 1}` : '';
    const name = `${functionName || '(anonymous)'}${where}`;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const total = profile.samples.length;
  return [...counts].sort((a, b) => b[1] - a[1]).map(([name, n]) => ({ name, share: n / total }));
}

async function profile() {
  const app = startWorkers(APP_PORT, [edgecart()], { inspectorPort: INSPECTOR_PORT });
  await app.ready;
  await seed(app);
  const base = `http://${HOST}:${APP_PORT}`;
  await warm(base, [LIST]);
  const targets = await fetch(`http://${HOST}:${INSPECTOR_PORT}/json`).then((r) => r.json());
  const target = targets.find((t) => t.title?.includes('edgecart')) ?? targets[0];
  const cdp = await devtools(target.webSocketDebuggerUrl);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  await cdp.send('Profiler.start');
  const result = await load(base, () => LIST, { connections: CONNECTIONS, duration: DURATION });
  const { profile: cpu } = await cdp.send('Profiler.stop');
  if (process.env.DUMP_PROFILE) writeFileSync(process.env.DUMP_PROFILE, JSON.stringify(cpu));
  cdp.close();
  await app.dispose();

  const rows = selfTimes(cpu).slice(0, 30);
  console.log(
    [
      `CPU profile of the listing HIT (${Math.round(result.requests.average)} req/s under the profiler, ` +
        `${cpu.samples.length} samples at 100 µs, load average ${load1()}); self time, bundle positions in bench/.build/index.js:`,
      '',
      '| self time | function |',
      '|---|---|',
      ...rows.map((r) => `| ${(100 * r.share).toFixed(1)}% | \`${r.name}\` |`),
    ].join('\n'),
  );
}

if (!BUNDLE) buildWorker();
(hasFlag('profile') ? profile() : measure()).catch((error) => {
  console.error(`Benchmark failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
