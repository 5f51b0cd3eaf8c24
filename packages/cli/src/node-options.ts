/**
 * The Node options of a process that runs our stack: `tcpts`, and bench:net,
 * whose uploads run the stack in its own process.
 *
 * V8 compiles hot code and collects garbage on a pool of background threads,
 * four by default. On a small machine those threads take the CPU from the
 * main thread and from the peer the stack is talking to (on a veth pair, the
 * kernel's sender runs on the other core): with one thread, 100 MB downloads
 * over the packet ring were about an eighth faster and 10 MB ones about a
 * fifth (medians of ten runs each, 2 cores), the process no slower overall.
 */
export const STACK_NODE_OPTIONS: readonly string[] = ['--v8-pool-size=1'];

/**
 * The Node options `tcpts` runs with (its shebang, the package scripts, and
 * the children the demo and bench:net start): the stack's, and a late tier-up.
 *
 * The interrupt budget is how much bytecode a function runs between V8's
 * checks whether to optimize it with TurboFan, and `tcpts` waits sixteen
 * times as long as V8 does. A download over the packet ring runs its
 * JavaScript once per merged frame (about 25 segments) and once per ACK, the
 * bytes themselves being summed by the addon and copied by typed arrays:
 * little of that code gains from TurboFan, and compiling takes a core the
 * sender needs. A fresh 100 MB download had 47 functions optimized with V8's
 * budget, 190 ms of compiling, and 3 with this one, 22 ms. Medians in
 * rotating order on 2 cores, MB/s, V8's budget first: 100 MB 314 → 342, 321
 * → 324 and 340 → 373 (the whole machine's CPU 720 → 660 ms); 10 MB 165 →
 * 209 and 149 → 162; 10 MB through 1% loss 134 → 154; 1000 MB to /dev/null
 * 500 → 516 (four pairs). Code that runs per segment does need TurboFan
 * early: through libpcap the same download fell from 180 to 134 MB/s, so
 * that capture goes back to V8's budget (`tier-up.ts`). Our sender builds
 * every segment in JavaScript too: 100 MB uploads over the ring fell from
 * 260 to 215 MB/s with the late tier-up (medians of six), so bench:net,
 * whose uploads run in its own process, keeps V8's budget.
 */
export const CLI_NODE_OPTIONS: readonly string[] = [...STACK_NODE_OPTIONS, '--interrupt-budget=1081344'];
