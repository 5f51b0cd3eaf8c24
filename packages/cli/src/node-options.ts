/**
 * The Node options `tcpts` runs with (its shebang, the package scripts, and
 * the children the demo and bench:net start).
 *
 * V8 compiles hot code and collects garbage on a pool of background threads,
 * four by default. On a small machine those threads take the CPU from the
 * main thread and from the peer the stack is talking to (on a veth pair, the
 * kernel's sender runs on the other core): with one thread, 100 MB downloads
 * over the packet ring were about an eighth faster and 10 MB ones about a
 * fifth (medians of ten runs each, 2 cores), the process no slower overall.
 */
export const CLI_NODE_OPTIONS: readonly string[] = ['--v8-pool-size=1'];
