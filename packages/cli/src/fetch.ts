/**
 * `tcpts fetch URL`: one HTTP GET (plus redirects with -L) over our own TCP
 * stack, the body streamed to a file or stdout.
 */
import { randomBytes } from 'node:crypto';
import type { Duplex, Writable } from 'node:stream';
import type { CongestionAlgorithm } from '@tcpts/core';
import {
  CliFailure,
  ExitCode,
  failureFromSocketError,
  failureFromStackOpen,
  ioPcapErrorCode,
  noSuchInterface,
  permissionDenied,
} from './errors.js';
import { ChunkLoan, canReleaseChunks, chunksOf } from './chunks.js';
import { buildRequest, HttpParseError, HttpResponseParser, isRedirectStatus, requestHeadLines, type ResponseHead } from './http.js';
import { OutputSink } from './output.js';
import { formatTransferSummary, isTerminal, TransferProgress } from './progress.js';
import type { FetchStack, OpenStack, StackOpenOptions } from './stack.js';
import { sameSubnet, type SystemProbe } from './system.js';
import { formatHostEvent, formatStackSummary } from './trace.js';
import { parseFetchUrl, resolveLocation, resolveTarget, type FetchTarget, type LookupIPv4 } from './url.js';
import { FetchWatch } from './watch.js';

export interface FetchOptions {
  readonly url: string;
  /** Defaults to the interface of the kernel's route to the destination. */
  readonly iface?: string;
  readonly ip: string;
  readonly mac?: string;
  readonly prefixLength?: number;
  readonly gateway?: string;
  /** A file path; undefined or '-' for stdout. */
  readonly output?: string;
  readonly verbose: boolean;
  /** Print the closing bytes/seconds/MB/s line even without -v. */
  readonly stats: boolean;
  /** -f: an HTTP status >= 400 is a failure (22) and its body is not written. */
  readonly fail: boolean;
  /** -L: follow redirects, up to `maxRedirects`. */
  readonly followRedirects: boolean;
  readonly maxRedirects: number;
  readonly connectTimeoutMs: number;
  readonly maxTimeMs: number;
  /** --capture: our PACKET_MMAP ring addon, libpcap (npm cap), or `auto` (the default: the ring where it loads). */
  readonly capture?: 'libpcap' | 'packet-ring' | 'auto';
  /** --cc: congestion control of our sender. */
  readonly congestion?: CongestionAlgorithm;
  /** --inspect: the XState inspector's WebSocket URL. */
  readonly inspectUrl?: string;
  /** --trace: write the connection's HTML trace page here at the end. */
  readonly tracePath?: string;
  /** --record: write the host's recording here at the end. */
  readonly recordPath?: string;
}

export interface CliIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Aborting it (SIGINT, SIGTERM) ends the transfer with exit code 130, after cleaning up. */
  readonly signal?: AbortSignal;
}

export interface FetchDependencies {
  readonly openStack: OpenStack;
  readonly lookup: LookupIPv4;
  readonly system: SystemProbe;
  /** Milliseconds, for timing and the progress bar. */
  readonly now: () => number;
}

/** How long closing may take before we stop waiting: the process is about to exit anyway. */
const CLOSE_GRACE_MS = 2_000;
/** After a complete response, how long to wait for the server's FIN before closing ourselves. */
const LINGER_MS = 1_000;

/** A random unicast, locally administered MAC (IEEE 802: bit 1 of octet 0 set, bit 0 clear). */
export const randomLocalMac = (random: (size: number) => Uint8Array = randomBytes): string => {
  const bytes = random(6);
  bytes[0] = ((bytes[0] ?? 0) & 0xfc) | 0x02;
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
};

/**
 * Ends the run on --max-time or on an interrupt. Every wait is raced against
 * it; hooks tear down what a race leaves behind (an open socket).
 */
class Cancellation {
  readonly promise: Promise<never>;
  private rejectWith!: (failure: CliFailure) => void;
  private readonly hooks = new Set<(failure: CliFailure) => void>();
  private readonly timer: NodeJS.Timeout;
  private readonly onAbort = (): void => this.cancel(new CliFailure(ExitCode.interrupted, 'Interrupted'));
  cancelled: CliFailure | undefined;

  constructor(
    maxTimeMs: number,
    private readonly describeTimeout: () => string,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.promise = new Promise<never>((_, reject) => {
      this.rejectWith = reject;
    });
    this.promise.catch(() => undefined);
    this.timer = setTimeout(() => this.cancel(new CliFailure(ExitCode.timeout, this.describeTimeout())), maxTimeMs);
    if (signal?.aborted === true) this.onAbort();
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  race<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.promise]);
  }

  /** Runs `hook` on cancellation; returns a function that unregisters it. */
  onCancel(hook: (failure: CliFailure) => void): () => void {
    if (this.cancelled !== undefined) hook(this.cancelled);
    this.hooks.add(hook);
    return () => this.hooks.delete(hook);
  }

  private cancel(failure: CliFailure): void {
    if (this.cancelled !== undefined) return;
    this.cancelled = failure;
    this.rejectWith(failure);
    for (const hook of this.hooks) hook(failure);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this.onAbort);
  }
}

const withTimeout = <T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
};

/** Waits for `work` at most `ms`, ignoring its outcome: for cleanup that must not hang the exit. */
const settleWithin = async (work: Promise<unknown>, ms: number): Promise<void> => {
  await withTimeout(work, ms, () => new Error('cleanup timed out')).catch(() => undefined);
};

/** Resolves once the stream has closed, or after `ms`. */
const closedWithin = (stream: Duplex, ms: number): Promise<void> =>
  stream.destroyed || stream.closed
    ? Promise.resolve()
    : settleWithin(new Promise<void>((resolve) => stream.once('close', () => resolve())), ms);

interface HopResult {
  /** Set when -L is to follow a redirect. */
  readonly redirectTo?: string;
  readonly head: ResponseHead;
}

class FetchRun {
  private readonly line: (text: string) => void;
  private readonly output: OutputSink;
  private readonly cancellation: Cancellation;
  private readonly watch: FetchWatch;
  private stack: FetchStack | undefined;
  private iface = '';
  private pendingStack: Promise<FetchStack> | undefined;
  private readonly sockets = new Set<Duplex>();
  private received = 0;

  constructor(
    private readonly options: FetchOptions,
    private readonly io: CliIo,
    private readonly deps: FetchDependencies,
  ) {
    this.line = (text) => {
      io.stderr.write(`${text}\n`);
    };
    this.output = new OutputSink(options.output, io.stdout);
    this.cancellation = new Cancellation(
      options.maxTimeMs,
      () => `Operation timed out after ${options.maxTimeMs} ms with ${this.received} bytes received`,
      io.signal,
    );
    this.cancellation.onCancel((failure) => {
      for (const socket of this.sockets) socket.destroy(failure);
    });
    this.watch = new FetchWatch(
      {
        title: `tcpts fetch ${options.url}`,
        ...(options.inspectUrl === undefined ? {} : { inspectUrl: options.inspectUrl }),
        ...(options.tracePath === undefined ? {} : { tracePath: options.tracePath }),
        ...(options.recordPath === undefined ? {} : { recordPath: options.recordPath }),
      },
      this.line,
    );
  }

  async run(): Promise<number> {
    let failure: CliFailure | undefined;
    try {
      await this.cancellation.race(this.fetchAll());
    } catch (error) {
      failure = this.cancellation.cancelled ?? toFailure(error);
    } finally {
      this.cancellation.dispose();
      // Bytes already received stay written: the output is flushed before any non-zero exit.
      const writeFailure = await this.output.close();
      failure ??= writeFailure;
      await this.closeStack();
    }
    // After the stack is closed, so the trace and the recording end with its last RST.
    const watchFailures = await this.watch.finish();
    const reported = failure === undefined ? watchFailures : [failure, ...watchFailures];
    for (const each of reported) this.line(`tcpts: ${each.message}`);
    return reported[0]?.exitCode ?? ExitCode.ok;
  }

  private async fetchAll(): Promise<void> {
    let url = this.options.url;
    for (let hop = 0; ; hop++) {
      const target = parseFetchUrl(url);
      const result = await this.fetchOne(target);
      if (result.redirectTo === undefined) return;
      if (hop + 1 > this.options.maxRedirects) {
        throw new CliFailure(ExitCode.tooManyRedirects, `Maximum (${this.options.maxRedirects}) redirects followed`);
      }
      if (this.options.verbose) this.line(`* Following redirect to ${result.redirectTo}`);
      url = result.redirectTo;
    }
  }

  private async fetchOne(target: FetchTarget): Promise<HopResult> {
    const { verbose } = this.options;
    const address = await this.cancellation.race(resolveTarget(target, this.deps.lookup));
    if (verbose && !target.hostIsAddress) this.line(`* Resolved ${target.host} to ${address}`);
    const stack = await this.openStack(address);
    const destination = `${target.host} port ${target.port}`;
    if (verbose) this.line(`*   Trying ${address}:${target.port}...`);
    const startedAt = this.deps.now();
    const socket = await this.connect(stack, address, target.port, destination);
    if (verbose) {
      this.line(`* Connected to ${target.host}${target.hostIsAddress ? '' : ` (${address})`} port ${target.port}`);
    }
    try {
      return await this.exchange(socket, target, destination, startedAt);
    } finally {
      await this.release(socket);
    }
  }

  private async openStack(destination: string): Promise<FetchStack> {
    if (this.stack !== undefined) return this.stack;
    const { options, deps } = this;
    // Given the interface and our prefix, a destination inside it is reached directly: the kernel's
    // route could only name a gateway, which an on-link destination does not use.
    const onLink = options.iface !== undefined && options.prefixLength !== undefined && sameSubnet(destination, options.ip, options.prefixLength);
    const needsRoute = (options.iface === undefined || options.gateway === undefined) && !onLink;
    const route = needsRoute ? await deps.system.routeTo(destination) : undefined;
    const iface = options.iface ?? route?.iface;
    if (iface === undefined) {
      throw new CliFailure(ExitCode.usage, `No route to ${destination} to pick an interface from: give --iface`);
    }
    this.iface = iface;
    const interfaces = deps.system.interfaces();
    if (interfaces.length > 0 && !interfaces.includes(iface)) throw noSuchInterface(iface, interfaces);
    if (!deps.system.mayCapture()) throw permissionDenied(iface);
    // The kernel's own address on the link tells the prefix, when our address falls inside it.
    const prefixLength =
      options.prefixLength ??
      (await deps.system.addressesOf(iface)).find((a) => sameSubnet(a.address, options.ip, a.prefixLength))?.prefixLength;
    const gateway = options.gateway ?? (route !== undefined && route.iface === iface ? route.gateway : undefined);
    const mac = options.mac ?? randomLocalMac();
    // Connected only with a stack to watch: a run that fails before has nothing to show.
    await this.watch.start();
    const openOptions: StackOpenOptions = {
      iface,
      ip: options.ip,
      mac,
      ...(prefixLength === undefined ? {} : { prefixLength }),
      ...(gateway === undefined ? {} : { gateway }),
      ...(options.congestion === undefined ? {} : { tcp: { congestion: options.congestion } }),
      capture: options.capture ?? 'auto',
      ...this.watch.stackOptions(),
      ...(options.verbose
        ? {
            traceSegments: true,
            onEvent: (event) => {
              const text = formatHostEvent(event);
              if (text !== undefined) this.line(text);
            },
          }
        : {}),
    };
    if (options.verbose) {
      const details = [`mac ${mac}`, `capture ${options.capture ?? 'auto'}`];
      if (prefixLength !== undefined) details.push(`prefix /${prefixLength}`);
      if (gateway !== undefined) details.push(`gateway ${gateway}`);
      this.line(`* Opening ${iface} as ${options.ip} (${details.join(', ')})`);
    }
    this.throwIfCancelled();
    this.pendingStack = deps.openStack(openOptions);
    try {
      this.stack = await this.cancellation.race(this.pendingStack);
      if (options.verbose && this.stack.capture !== undefined && this.stack.capture !== options.capture) {
        this.line(`* Capturing through ${this.stack.capture}`);
      }
    } catch (error) {
      if (error instanceof CliFailure) throw error;
      const failure = failureFromStackOpen(error, iface, interfaces);
      const guessed = options.iface === undefined || (options.gateway === undefined && gateway !== undefined);
      if (!guessed || failure.exitCode !== ExitCode.couldNotConnect) throw failure;
      // The kernel's route chose for the user; say so, since its choice may be what failed.
      throw new CliFailure(failure.exitCode, `${failure.message} (${iface}${gateway === undefined ? '' : ` via ${gateway}`} taken from the kernel's route; give --iface/--gateway)`);
    }
    return this.stack;
  }

  /** Work raced against the cancellation goes on in the background: it must not start anything new. */
  private throwIfCancelled(): void {
    if (this.cancellation.cancelled !== undefined) throw this.cancellation.cancelled;
  }

  private async connect(stack: FetchStack, address: string, port: number, destination: string): Promise<Duplex> {
    this.throwIfCancelled();
    const timeoutMs = this.options.connectTimeoutMs;
    let timedOut = false;
    const attempt = stack.connect(address, port, { timeoutMs });
    // A socket that connects after we gave up must not stay open.
    attempt.then(
      (late) => {
        if (!this.sockets.has(late) && (this.cancellation.cancelled !== undefined || timedOut)) late.destroy();
      },
      () => undefined,
    );
    try {
      const socket = await this.cancellation.race(
        withTimeout(attempt, timeoutMs, () => {
          timedOut = true;
          return new CliFailure(ExitCode.timeout, `Failed to connect to ${destination} after ${timeoutMs} ms: timed out`);
        }),
      );
      this.sockets.add(socket);
      return socket;
    } catch (error) {
      throw this.networkFailure(error, 'connect', destination);
    }
  }

  private async release(socket: Duplex): Promise<void> {
    if (!socket.destroyed) {
      socket.end();
      await closedWithin(socket, CLOSE_GRACE_MS);
      socket.destroy();
    }
    this.sockets.delete(socket);
  }

  private async exchange(socket: Duplex, target: FetchTarget, destination: string, startedAt: number): Promise<HopResult> {
    const { options } = this;
    const headers: Array<readonly [string, string]> =
      target.authorization === undefined ? [] : [['Authorization', target.authorization]];
    if (options.verbose) {
      for (const text of requestHeadLines(target, { headers })) this.line(`> ${text}`);
      this.line('>');
    }
    socket.write(buildRequest(target, { headers }));

    const parser = new HttpResponseParser();
    const progress = isTerminal(this.io.stderr) && !options.verbose ? new TransferProgress(this.io.stderr, this.deps.now) : undefined;
    let head: ResponseHead | undefined;
    let redirectTo: string | undefined;
    /** Whether this response's body goes to the output (not for a followed redirect or a -f failure). */
    let keepBody = false;
    let lingerTimer: NodeJS.Timeout | undefined;

    const onEvents = async (events: ReturnType<HttpResponseParser['push']>, loan?: ChunkLoan): Promise<'continue' | 'stop'> => {
      for (const event of events) {
        switch (event.kind) {
          case 'interim':
            if (options.verbose) this.printHead(event.head);
            break;
          case 'head': {
            head = event.head;
            if (options.verbose) this.printHead(head);
            const location = head.headers.get('location');
            const absolute = location === undefined ? undefined : resolveLocation(location, target.url);
            if (options.fail && head.status >= 400) {
              throw new CliFailure(ExitCode.httpError, `The requested URL returned error: ${head.status}${head.reason === '' ? '' : ` ${head.reason}`}`);
            }
            if (isRedirectStatus(head.status) && absolute !== undefined) {
              if (options.followRedirects) {
                redirectTo = absolute;
                return 'stop';
              }
              this.line(`tcpts: ${head.status} redirect to ${absolute} not followed (use -L to follow)`);
            }
            keepBody = true;
            this.output.open();
            break;
          }
          case 'body':
            this.received += event.bytes.length;
            if (keepBody) await this.output.write(event.bytes, loan?.hold());
            progress?.update(parser.progress.bodyBytes, parser.progress.totalBytes);
            break;
          case 'complete':
            return 'stop';
        }
      }
      return 'continue';
    };

    try {
      const giveBack = canReleaseChunks(socket) ? (chunk: Uint8Array) => socket.release(chunk) : undefined;
      for await (const chunk of chunksOf(socket)) {
        // The chunk goes back to the stack once parsed and written out (the parser keeps no view of it).
        const loan = new ChunkLoan(chunk, giveBack);
        // Bytes after the response are not ours to use; keep reading only to see the FIN.
        if (parser.isComplete) {
          loan.end();
          continue;
        }
        let next: 'continue' | 'stop';
        try {
          next = await onEvents(parser.push(chunk), loan);
        } finally {
          loan.end();
        }
        if (next === 'stop') {
          if (redirectTo !== undefined) break;
          // The server closes after the response (Connection: close); give its FIN a moment to
          // arrive, then close our side, then give up on it.
          lingerTimer = setTimeout(() => {
            socket.end();
            lingerTimer = setTimeout(() => socket.destroy(), LINGER_MS);
          }, LINGER_MS);
        }
      }
      if (redirectTo === undefined && !parser.isComplete) await onEvents(parser.end());
    } catch (error) {
      if (error instanceof CliFailure) throw error;
      if (error instanceof HttpParseError) throw failureFromParseError(error, destination, this.received);
      // Once the whole response arrived, a reset while closing loses nothing.
      if (!parser.isComplete) throw this.networkFailure(error, 'transfer', destination);
    } finally {
      clearTimeout(lingerTimer);
      progress?.stop();
    }

    if (options.verbose || options.stats) {
      this.line(formatTransferSummary(parser.progress.bodyBytes, this.deps.now() - startedAt));
    }
    return redirectTo === undefined ? { head: head! } : { head: head!, redirectTo };
  }

  /** The stack itself failing (offloads detected, interface gone) is told apart from the connection failing. */
  private networkFailure(error: unknown, phase: 'connect' | 'transfer', destination: string): CliFailure {
    if (error instanceof CliFailure) return error;
    if (ioPcapErrorCode(error) !== undefined) return failureFromStackOpen(error, this.iface, this.deps.system.interfaces());
    return failureFromSocketError(error, phase, destination, this.received);
  }

  private printHead(head: ResponseHead): void {
    for (const text of head.rawLines) this.line(`< ${text}`);
    this.line('<');
  }

  private async closeStack(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (this.stack !== undefined) {
      await settleWithin(this.stack.close(), CLOSE_GRACE_MS);
      const stats = this.options.verbose ? this.stack.stats?.() : undefined;
      if (stats !== undefined) for (const text of formatStackSummary(stats)) this.line(text);
    } else if (this.pendingStack !== undefined) {
      // Opened after we stopped waiting: close it when it arrives.
      const late = this.pendingStack;
      await settleWithin(late.then((stack) => stack.close()), CLOSE_GRACE_MS);
    }
  }
}

const failureFromParseError = (error: HttpParseError, destination: string, received: number): CliFailure => {
  switch (error.code) {
    case 'truncated':
      return new CliFailure(ExitCode.partialTransfer, `Transfer from ${destination} closed early: ${error.message}`);
    case 'empty-reply':
      return new CliFailure(ExitCode.emptyReply, `Empty reply from ${destination}`);
    default:
      return new CliFailure(
        ExitCode.weirdServerReply,
        `Invalid HTTP response from ${destination}: ${error.message}${received > 0 ? ` (${received} bytes received)` : ''}`,
      );
  }
};

const toFailure = (error: unknown): CliFailure => {
  if (error instanceof CliFailure) return error;
  if (error instanceof HttpParseError) return failureFromParseError(error, 'the server', 0);
  const message = error instanceof Error ? error.message : String(error);
  // Not an expected failure: still one line, and a code that is not success.
  return new CliFailure(ExitCode.couldNotConnect, `Unexpected failure: ${message}`);
};

export const fetchCommand = (options: FetchOptions, io: CliIo, deps: FetchDependencies): Promise<number> =>
  new FetchRun(options, io, deps).run();
