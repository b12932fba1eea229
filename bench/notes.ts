/**
 * How each suite measures, printed under its table in BENCHMARKS.md. Kept here, in the code that does the
 * measuring, so that regenerating BENCHMARKS.md keeps them and they cannot drift from it.
 */
export const NOTES: Record<string, readonly string[]> = {
  'Record path':
    [
      'One pinned process, tinybench. Each sample times a batch of 1,000 calls and is divided by 1,000 (a single ' +
        'call is shorter than the timer\'s resolution); the figure is the median sample of a round, and the table ' +
        'shows the median over rounds, each round running all six tasks in a rotated order. Label values rotate ' +
        'over four instances/operations and the durations over eight values spread across the buckets, the same ' +
        'for both sides. prom-client\'s side is its labelled call on a `Counter`/`Histogram` with the same label ' +
        'names and buckets; `recordCallSuccess` writes a counter and a histogram, so it is compared with the two ' +
        'prom-client calls it replaces.',
      'The native-histogram row (context, no target) records into a `LoadBalancerMetrics` made with ' +
        '`nativeHistograms: { schema: 3 }`: each observation updates the classic buckets and also finds its ' +
        'exponential bucket (binary exponent and mantissa, a binary search over 8 boundaries) in a `Map`. ' +
        'prom-client has no native histograms, so its side is the same classic `histogram.observe()` as above.',
    ],
  Scrape: [
    '10,000 series of `mesh_lb_request_duration_seconds{service,instance}` (14 buckets: 17 lines each, 170,000 ' +
      'lines, 17 MB of text), three observations per series, against a prom-client `Histogram` with the same name, ' +
      'labels, buckets and observations. Each side runs in its own pinned process holding only its own registry, ' +
      'as two real servers would. A scrape is an HTTP GET from the orchestrator on the other core, timed from the ' +
      'request to the last byte; the server reports the longest event-loop delay it saw during the scrape ' +
      '(`perf_hooks.monitorEventLoopDelay`, 1 ms resolution, enabled 20 ms before the request).',
    'The kit\'s handler renders through `lib/exposition-writer.ts`: the kit\'s families are written straight from ' +
      'their series (no intermediate objects per sample) in slices of at most 2,048 lines or 5 ms, with an ' +
      'event-loop turn between slices, and its output equals `registry.metrics()` byte for byte ' +
      '(`test/exposition-writer.test.ts`). With gzip accepted, the text is compressed piece by piece while it is ' +
      'written (`gzipExposition`), so no step converts or copies the whole 17 MB text at once: on this virtual ' +
      'machine first-touching fresh memory is slow (a fresh 19 MB buffer takes about 200 ms to fill, a second ' +
      'fill of the same buffer about 1 ms), which made the first version, gzip of the finished string, block the ' +
      'loop for over 100 ms.',
    'Without gzip (context rows), the handler serves the exposition as UTF-8 pieces of about 256 KB made between ' +
      'the slices (`expositionPieces`), piped to the response with backpressure, so that path never builds one ' +
      '17 MB string or buffer either (before this, `res.end()` of the finished string blocked the loop for ~130 ms).',
    'Native histogram rows (context): a third pinned process holds the same 10,000 series and observations with ' +
      '`nativeHistograms: { schema: 3 }` and is scraped with Prometheus\' protobuf `Accept` header, so each series ' +
      'is one `MetricFamily` metric carrying its 14 classic buckets and its sparse buckets ' +
      '(`lib/protobuf-exposition.ts`, encoded with protobufjs in the same slices of at most 2,048 lines or 5 ms). ' +
      'The baseline is still prom-client\'s classic text scrape, for scale; the in-process row times ' +
      '`protobufPieces()`.',
    'What the native rows measure, and why that render is sliced as it is: the scrape total (request to last byte), ' +
      'the longest event-loop block in the serving process (the worker runs `gc()` before each scrape, so every ' +
      'scrape starts just after a full collection, as a real one may) and the bytes sent. A `MetricFamily` starts ' +
      'with its length, so the 10,000 series of the one family are all encoded before any byte of it is served or ' +
      'gzipped (compressing earlier would change the bytes); the encoding is sliced like the text writer\'s (at ' +
      'most 2,048 lines or 5 ms, then an event-loop turn), and gzip (zlib on libuv\'s threads) follows in 256 KB ' +
      'writes. Every series is encoded with one protobufjs writer that lives as long as the process, reset after ' +
      'each series and copied (`finishInto`) into 256 KB buffers that are the served pieces as they are. The first ' +
      'version made a fresh writer per slice (protobufjs 8 writes into one buffer that grows by doubling and copying) ' +
      'and then copied the family again into pieces: per-series timings showed single series taking 5-24 ms at the ' +
      'same places in every scrape, and `--trace-deopt` showed protobufjs\' writer functions losing their optimized ' +
      'code ("weak objects") at each full collection, the dropped writers having taken the objects it relied on; ' +
      'with one long-lived writer those deoptimizations are gone, and the longest block went from 17-21 to about ' +
      '10-12 ms with gzip and from 12-13 to about 5-7 ms without (text: 4-6 ms). Refilling shared bucket messages ' +
      '(fewer young objects) and feeding zlib 32 KB at a time measured within the noise and were not kept.',
  ],
  'Inbound Express': [
    'Express 5, one route `GET /users/:id` answering `res.send()`; wrk requests `/users/42`. Each variant is its own ' +
      'server process pinned to the measured core, all started up front and warmed up for 2 s; every round drives ' +
      'each variant once (order rotated per round) with wrk pinned to the other core. Server CPU per request is ' +
      '`process.cpuUsage()` (user + system) over the run divided by the responses wrk completed. ' +
      'express-prom-bundle is configured with `includeMethod`, `includePath` and `includeStatusCode`, its own ' +
      'registry, and no `up` metric. The no-op layer row shows what any `app.use()` middleware costs here before ' +
      'it does anything: on this machine it is within the run-to-run noise (about ±5 %).',
    'Profile (`npm run bench -- --only=express --profile`, then `node bench/.build/bench/profile-summary.js`): ' +
      'Express 5 gives every response object a hidden class of its own (it sets the prototype of `req` and `res` ' +
      'per request; V8\'s `%HaveSameMap` on two responses at the same point is false). On such an object, adding a ' +
      'property (the first recorder kept its start time under a symbol on `res`) and looking up a getter on the ' +
      'prototype chain (`res.closed`) both take V8\'s slow paths: in a micro-benchmark on responses with ' +
      'per-object prototypes the symbol store took about 8 µs, a `WeakMap` entry 0.2 µs. With those two, ' +
      '`meshMetrics()` cost +11 to +12 % server CPU per request in three full runs. Moving the state into a ' +
      '`WeakMap` helped Express (+4 to +7 %) but cost Koa (a second `WeakMap` keyed by the response made a Koa ' +
      'server 1.5x slower: ephemeron tables are expensive for the collector at this request rate), so the ' +
      'recorder (`middleware/recorder.ts`) now keeps the start time in the closure of the one `close` listener it ' +
      'adds per request, reads `closed` through Node\'s own getter, and gets Koa\'s `ctx` through `begin()` ' +
      'instead of a symbol on the response. After that, `meshMetrics()` measured within the no-op layer\'s cost ' +
      'in the runs made while writing this (+1.4 % and +6.8 % CPU, the no-op layer +1.3 % and +7.1 % in the same ' +
      'runs). On this shared 2-vCPU virtual machine a ratio moves by ±5 % between runs (see the per-round ' +
      'column), the size of the target itself.',
    'The no-layer rows: `instrumentExpress(app)` hooks the app\'s own `app.handle`, `instrumentExpress(server)` ' +
      'starts from Node\'s `http.server.request.start` diagnostics channel. Both run the recorder `meshMetrics()` ' +
      'runs (the clock, the in-flight gauge, one `close` listener, then the label lookup and the histogram), but ' +
      'the router matches and dispatches one layer fewer, and the recorder starts before Express sets the ' +
      'prototypes of `req` and `res`, so adding the `close` listener stays on V8\'s fast path. In a ' +
      '`--quick --profile` run made while writing this, on a loaded machine (load average about 5 on the 2 ' +
      'vCPUs, so its ratios are not worth quoting), the kit\'s own self time was 2.4 % of the busy time with ' +
      '`meshMetrics()`, 2.0 % with `instrumentExpress(app)` and 1.6 % with `instrumentExpress(server)`, and the ' +
      'router\'s share fell from 12.6 % to 11.0 %. What remains is the recorder\'s own work (mostly `end`: the label ' +
      'lookup and the observation) and the `close` listener Node adds per request: about 2 µs of a request of ' +
      'about 90 µs, the size of the +2 % CPU target, so meeting it depends on the recorder, not on the mode.',
    'Two `meshMetrics()` rows: "first byte and body sizes off" is the middleware with `families: { firstByte: ' +
      'false, bodySizes: false }`, which records the duration and in-flight families only, on the same path as ' +
      'before those families existed (no wire hooks, no extra listeners); "every family on" is the default, which ' +
      'also records `…_response_first_byte_seconds` and both body size histograms. The per-request cost of the ' +
      'latter: the `writeHead`/`write`/`end` wrappers of `lib/wire-hooks.ts` notify the recorder\'s own `close` ' +
      'listener (no second listener per response; a property read or two on responses nobody measures), a ' +
      'listener on the request only when it can have a body (`Content-Length` or `Transfer-Encoding`), one ' +
      '`getHeader` at the end, and three more histogram observations, whose series come with the duration\'s from ' +
      'one lookup (`middleware/series-rows.ts` keeps the four series of a route, status and method together). ' +
      'Nothing is stored on the response or request, so Express\'s per-object hidden classes take no new slow path.',
  ],
  'Inbound Koa': [
    'Koa 3 with @koa/router, one route `GET /users/:id`; same procedure as Express. `koaMeshMetrics()` is mounted ' +
      'first, before the router.',
    'Profile: the middleware\'s own self time is about 2 µs of a ≈ 40 µs request (`begin`, `end`, and the ' +
      '`await next()` of one more async layer). Per-request state as a symbol on the response measured ≈ +5 % CPU, ' +
      'in a `WeakMap` ≈ +8 %, in the `close` listener\'s closure with Koa\'s `ctx` passed through ≈ +4 % ' +
      '(same-session runs); what is left is the clock, the in-flight gauge, the label lookup, the histogram and ' +
      'the extra async layer Koa needs to see thrown errors.',
    '`instrumentKoa(app)` hooks the app\'s own `handleRequest`: no async layer and no `await next()`. To see a ' +
      'thrown error\'s status as the middleware does, it hands Koa the composed chain wrapped once per chain, ' +
      'which costs one promise reaction per request. In the same loaded `--quick --profile` run as the Express ' +
      'note, the kit\'s self time was 2.1 % of the busy time in both modes, while koa-compose fell from 3.4 % to ' +
      '3.0 % and the microtask queue from 2.7 % to 1.8 % of it.',
    'As for Express, two rows: the first-byte and body size families off (the previous path) and on (the default).',
  ],
  'Outbound axios': [
    'The measured process is the client, pinned to the measured core; the upstream (two plain Node HTTP servers, ' +
      'the balancer\'s two instances) runs on the other core. Each run keeps 32 calls in flight for the duration ' +
      '(keep-alive agent). Bare axios alternates between the two instances\' absolute URLs; the instrumented ' +
      'client uses a `round_robin` balancer and relative URLs with `{ mesh: { operation } }`. The policy variant ' +
      'adds `meshPolicy({ retry: { retries: 2 }, circuitBreaker: { consecutiveFailures: 5 }, timeoutMs: 2000 })`.',
    'Profile of the balancer variant (`--only=outbound --profile`, compared per call with bare axios): the ' +
      'largest single cost was `attempt` in `interceptors/axios.ts`, about 11 µs a call, nearly all of it one line ' +
      'copying axios\'s request config (`{ ...config, baseURL }`) per attempt; it now sets the picked instance on ' +
      'the call\'s own config and copies only when an attempt carries its own signal (the policy path). That took ' +
      'the client CPU per call from +9 to +12 % to about +7 % in the runs made while writing this. What remains is ' +
      'spread thin: the balancer\'s pick and bookkeeping, the label lookups and histograms of the attempt and call ' +
      'families, and one more async hop per call; axios itself, `follow-redirects` and Node\'s HTTP client ' +
      'dominate the profile. The throughput ratio also depends on the upstream, which shares its core with the ' +
      'load generator and, on this machine, with other work. The policy variant\'s extra cost is cockatiel\'s ' +
      'retry, breaker and per-attempt timeout (an `AbortController` and a timer per attempt) and the config copy ' +
      'that carries the attempt\'s signal; no target is set for it.',
  ],
  'Outbound fetch/undici': [
    'Same set-up as the axios suite (client pinned to the measured core, the two upstream instances on the other, ' +
      '32 calls in flight, keep-alive). The bare clients use a plain `Agent` of the installed undici package and ' +
      'alternate between the two instances\' absolute URLs; the measured ones go through `meshDispatcher` with a ' +
      '`round_robin` balancer, addressing the service origin `http://users`. fetch is the global one (Node\'s ' +
      'bundled undici) with the dispatcher option; `request` is the undici package\'s. Bodies are read in full.',
    'In the three full runs made on 2026-12-03 (Node 24), `request` through `meshDispatcher` took 7 to 8 µs more ' +
      'client CPU per call than the bare `Agent` (0.83x the calls/s). Looking for it on Node 20 found a fault of the ' +
      'kit\'s: undici keeps a finished request, and so the attempt handler the kit gave it, reachable for a while, ' +
      'and that attempt still referenced its call and the caller\'s handler, through whose promise chain every later ' +
      'call of the same caller stayed reachable. On Node 20 each young-generation collection then copied and ' +
      'promoted about 3.3 MB instead of 0.5 MB (`node --trace-gc-nvp`), and the scavenges took 650 ms instead of ' +
      '150 ms per 60,000 calls, as much as the whole extra CPU there. An ended attempt now lets go of the call, the ' +
      'caller\'s handler and the response head (`interceptors/undici-attempt.ts`, tested in ' +
      '`test/undici-attempt.test.ts`), and on Node 20 the scavenge time per call is the bare client\'s. Node 24\'s ' +
      'collector did not show the effect (before the fix, its scavenges took about 40 ms per 60,000 calls), so ' +
      'on Node 24, where this table is measured, the fix leaves the row about where it was.',
    'Where the rest of the extra client CPU was: with the kit\'s metric writes made no-ops (a measuring build, not ' +
      'kept), `request` through `meshDispatcher` counted the bare client\'s instructions per call (about 90,000 ' +
      'under callgrind after 10,000 warm-up calls, against 95,000 with them): the call and attempt objects and the ' +
      'balancer\'s pick cost next to nothing, the writes cost it all, and most of them were label lookups, about ' +
      'ten per call. A balancer instance now keeps its series (requests, in-flight, duration, first byte, body ' +
      'sizes, health score) on its record, and a metric set keeps the series of its successful calls by service and operation ' +
      '(`lib/kept-series.ts`: looked up again once a family forgot series, never kept when overflowing; ' +
      '`test/kept-series.test.ts`), which took the same count from 95,000 to about 92,500 in one run of five ' +
      'windows. The "Outbound instructions" suite below then counted +6 % (its seven windows +3 to +7 %): about ' +
      '6,000 instructions per call still the kit\'s.',
    'Much of that was the clock: one `performance.now()` costs about 350 instructions under callgrind on Node 24 ' +
      '(a loop of two million readings, less the empty loop), as much as an object spread of undici\'s request ' +
      'options, and a call read it six times (the call\'s start, the attempt\'s, the balancer attempt\'s, the head, ' +
      'the balancer\'s end, the call\'s end), where the bare client reads none (undici\'s timers use a coarse clock). A ' +
      'call without a policy now reads it three times: its start is also its attempt\'s and the balancer\'s, and its ' +
      'end is also the balancer\'s, so the attempt and the call are timed by the same two readings (`startAttemptAt` ' +
      'and `endAttemptAt` in `lib/balancer.ts`: a balancer with a clock of its own, or one not made by ' +
      '`createBalancer`, still reads its own). The call also judges its response once for the balancer and for ' +
      'itself (`isFailure` was called twice), and it is its attempt\'s settle object itself, with none of the four ' +
      'closures it made per call. `test/undici.test.ts` checks that a call\'s and its attempt\'s duration sums are ' +
      'equal to the bit (they differed before) and that a balancer\'s own clock is still read. Both tables here ' +
      'were measured after that change: the "Outbound instructions" suite went from 1.062x to 1.027x (about 2,600 ' +
      'instructions per call left, its seven windows 1.02 to 1.06), and in this suite `request` went from 0.909x to ' +
      '1.001x and fetch measured 0.965x (both rows in the same 11-round run; single rounds still range from 0.82 to ' +
      '1.20).',
  ],
  'Outbound instructions': [
    'Why this suite: the calls/s ratios of the fetch/undici suite move by more than their target between rounds on ' +
      'this machine (the per-round ratios above), while the number of instructions a client executes per call moves ' +
      'far less. Each variant\'s client (the fetch/undici suite\'s worker, 32 calls in flight to the same two ' +
      'natively running upstream instances) runs under valgrind\'s callgrind; after 30,000 warm-up calls it makes ' +
      'seven windows of 10,000 calls, each between two `callgrind_control --dump`; a window\'s instructions divided ' +
      'by its calls is one sample, and the table shows the median of the seven (the "Per-round ratios" column pairs ' +
      'the windows by index). A bare and a mesh client run at the same time. User-space instructions only: the ' +
      'kernel\'s socket work, the same for both, is not in it, so a ratio here is larger than the same cost as a ' +
      'share of CPU time. The warm-up is that long because the counts per call kept falling until then (after ' +
      '10,000 warm-up calls, the bare client counted 184,000 and 118,000 per call in its first two windows and ' +
      '92,000 to 100,000 in the five after). What still moves a window is the garbage collector: a window that ' +
      'holds a full collection counts thousands of instructions per call more, hence the median.',
    'The target: the wall-clock suite\'s clients are CPU-bound (client CPU per call times calls per second is about ' +
      'one second per second, in both variants), so 0.95x the calls/s is at most 1 / 0.95 = 1.053x the CPU per call, ' +
      'applied here to the instructions per call. Undici\'s `request` only: a fetch call counts 500,000 to 750,000 ' +
      'instructions under callgrind, most of it the fetch layer and its collections, and in two runs made while ' +
      'writing this its windows moved by more than the kit\'s whole share (the mesh client counted fewer than the ' +
      'bare one); starting each window with a forced full collection made every count higher (the collection ' +
      'drops compiled code, which the window then compiles again) and was not kept.',
  ],
  'Inbound instructions': [
    'Why this suite: on this shared virtual machine the throughput and CPU-time ratios of the inbound suites move by ' +
      'tens of percent between rounds and between whole runs of the same code (three full runs on 2026-12-03 gave ' +
      '`meshMetrics()` 1.06x, 0.90x and 0.66x bare Express\'s requests/s), far more than the 2–3 % targets. The ' +
      'number of instructions the server executes per request does not depend on what else the machine runs. Each ' +
      'variant\'s server (the same worker scripts and routes as the Express and Koa suites) runs under valgrind\'s ' +
      'callgrind with Node\'s `--single-threaded` (the JIT compiles and the collector works on the main thread, at ' +
      'the same points of each run, not on helper threads that valgrind runs in turns with it); after 20,000 ' +
      'warm-up requests (4 kept-alive connections) the orchestrator sends seven windows of 3,000 requests, asking ' +
      'callgrind for a dump before and after each; a window\'s instructions divided by its requests is one sample, ' +
      'and the table shows the median of the seven (the "Per-round ratios" column pairs the windows by index). The ' +
      'count is user-space instructions only (the kernel\'s socket work, a third of the busy time in the CPU ' +
      'profiles, is not in it), so a ratio here is larger than the same cost as a share of CPU time. The CPU targets ' +
      'of the Express and Koa suites are applied to it.',
    'Why that warm-up: the counts per request keep falling for about 15,000 requests. Until 2026-12-08 this suite ' +
      'warmed up for 3,000 and counted bare Express at 170,000 instructions per request and `meshMetrics()` at ' +
      '222,000; after 10,000 requests the windows still ranged from 127,000 to 276,000, and from about 15,000 on ' +
      'bare Express settles at 118,000 to 127,000. The earlier rows were mostly the JIT\'s work, which is why they ' +
      'showed a no-op layer at +21 % and the first-byte and body size families at +11,000 instructions on Express: ' +
      'both were code not yet compiled. A window that holds a full collection or a late compilation still counts ' +
      '30 % to 200 % more than its neighbours (one in three to seven windows, the spikes in the per-round column), ' +
      'hence the median of seven; a median of three windows of 2,000 (tried on 2026-12-07) was moved by them.',
    'What it shows (the run above, 2026-12-08): at steady state a no-op `app.use()` layer costs Express 5 about 2 % ' +
      'more instructions per request, `meshMetrics()` with every family on about 10 %, `instrumentExpress(app)` and ' +
      '`instrumentExpress(server)` (no layer) 7 to 8 %; on Koa the no-op layer 5 % (its lowest window 1 %), ' +
      '`instrumentKoa(app)` 7 % and `koaMeshMetrics()` 12 %. What is left of the 2–3 % targets, a few thousand ' +
      'instructions, is less than the recorder\'s own work (the clock, the in-flight gauge, the `close` listener and ' +
      'its event, the route label lookup and the histogram observations), so they are not reached by the choice of ' +
      'mode.',
    'Every family on against the duration and in-flight families alone (the middleware before the first-byte and ' +
      'body size families; target: no more instructions per request): +4.9 % on Express and +5.8 % on Koa in ' +
      'medians, and the two variants\' lowest windows 3,400 and 2,400 instructions apart. A first run of this suite ' +
      'the same day, on the code before the two savings below, gave +1.5 % and +11.5 % in medians and 3,500 and ' +
      '3,100 between the lowest windows: the medians of single processes move by several percent between runs, ' +
      'the lowest windows by less. At steady state the two families cost about 2,500 to 3,500 instructions per ' +
      'request, 2 to 3 %, and the target is missed. What they do per request, counted one by one under callgrind ' +
      '(a million calls each, less an empty loop, Node 24): a clock reading when the head is written (about 490 ' +
      'instructions), the `writeHead` and `end` wrappers\' notifications, three histogram observations, and, when ' +
      'the head and the end are a millisecond or more apart (under valgrind, tens of times slower, nearly every ' +
      'request), a `getHeader` of the `Content-Type` (about 155) to see whether the response is an event stream. ' +
      'Two costs were cut before the second run: that test used a regular expression (about 560 instructions; by ' +
      'character codes at most about 240, less for types that differ at their sixth character), and a string body ' +
      'given whole to `end()` was measured again by the kit (about 360; it now takes the length Node measured for ' +
      'the `Content-Length`).',
  ],
};
