/**
 * The Node options of processes that run our stack.
 *
 * V8 compiles hot code and collects garbage on a pool of background threads,
 * four by default. On a small machine those threads take the CPU from the
 * main thread and from the peer the stack is talking to (on a veth pair, the
 * kernel's sender runs on the other core): with one thread, 100 MB downloads
 * over the packet ring were about an eighth faster and 10 MB ones about a
 * fifth (medians of ten runs each, 2 cores), the process no slower overall.
 * Every process hosting a stack runs with one (`bench:net`, whose uploads run
 * in its own process, too).
 */
export const STACK_NODE_OPTIONS: readonly string[] = ['--v8-pool-size=1'];

/**
 * The options `tcpts` runs with (its shebang, the package scripts, and the
 * children the demo and bench:net start): also no TurboFan, V8's optimizing
 * compiler, so hot code stays in Sparkplug's baseline code.
 *
 * A `tcpts` process lives for one download, whose per-byte work is small
 * behind receive coalescing, and TurboFan's compiling took its thread about
 * 160 ms of a 290 ms download of 100 MB: CPU the kernel's sender on the other
 * core needed. Without it, fresh downloads of 100 MB over the packet ring went
 * from medians of 234 to 320 MB/s and 272 to 314 in two sets of interleaved
 * runs, 10 MB ones from 117 to 129 and 138 to 165; 1000 MB gave 375–450
 * against 325–382, about the same. A sender is another matter: an upload of
 * 100 MB, which builds every segment in JavaScript, ran at half the speed
 * without TurboFan (84–123 MB/s against 206–230), so a process that sends
 * much keeps STACK_NODE_OPTIONS alone. (`--maglev` does not help here: Node
 * 20's V8 compiles nothing with Maglev once TurboFan is off, and with
 * TurboFan on it gained nothing.)
 */
export const CLI_NODE_OPTIONS: readonly string[] = [...STACK_NODE_OPTIONS, '--no-turbofan'];
