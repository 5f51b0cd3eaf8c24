/**
 * `--inspect`: each connection's XState actor reported live to the Stately
 * inspector over a WebSocket, in the messages `@statelyai/inspect` defines
 * (`@xstate.actor`, `@xstate.event`, `@xstate.snapshot`).
 *
 * The events are built by the package's `createInspector`; the WebSocket link
 * is ours because a fetch lives for milliseconds to minutes and must end on
 * time. The package's own link (`createWebSocketInspector`) retries a failed
 * connection every 5 s for as long as the process lives, even after `stop()`,
 * keeps no record of why it failed, and drops what is still queued when it is
 * stopped before the socket opened. This one tries once, warns once, and on
 * `stop()` sends what is queued (waiting a bounded time for the socket) and
 * closes.
 */
import { createInspector, type StatelyInspectionEvent } from '@statelyai/inspect';
import type { HostConfig } from '@tcpts/core';
import WebSocket from 'ws';

/** What the host hands every connection's actor. */
export type InspectObserver = NonNullable<HostConfig['inspect']>;

export interface LiveInspector {
  readonly url: string;
  readonly inspect: InspectObserver;
  /** Sends what is queued, closes the socket and forgets the inspector; never rejects. */
  stop(): Promise<void>;
}

export interface InspectorLimits {
  /** How long `stop` waits for a socket that is still connecting. */
  readonly connectWaitMs: number;
  /** How long `stop` waits for the closing handshake after the last message. */
  readonly closeWaitMs: number;
  /** Messages kept while connecting; the oldest go first beyond this. */
  readonly backlog: number;
}

const DEFAULT_LIMITS: InspectorLimits = { connectWaitMs: 2_000, closeWaitMs: 1_000, backlog: 10_000 };

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Resolves when `socket` emits one of `events` or after `ms`, whichever comes first. */
const firstOf = (socket: WebSocket, events: readonly string[], ms: number): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      for (const event of events) socket.off(event, done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    for (const event of events) socket.once(event, done);
  });

/** The adapter `createInspector` sends through (it needs only `start` and `send`): one WebSocket, one attempt. */
class InspectorLink {
  private socket: WebSocket | undefined;
  private readonly queued: string[] = [];
  private status: 'connecting' | 'open' | 'gone' = 'connecting';
  private stopping = false;
  private warned = false;

  constructor(
    private readonly url: string,
    private readonly warn: (text: string) => void,
    private readonly limits: InspectorLimits,
  ) {}

  start(): void {
    try {
      this.socket = new WebSocket(this.url, { handshakeTimeout: this.limits.connectWaitMs });
    } catch (error) {
      this.fail(`cannot reach the inspector at ${this.url} (${messageOf(error)})`);
      return;
    }
    const socket = this.socket;
    socket.on('open', () => {
      this.status = 'open';
      for (const text of this.queued.splice(0)) socket.send(text);
    });
    socket.on('error', (error) => this.fail(`cannot reach the inspector at ${this.url} (${messageOf(error)})`));
    socket.on('close', () => {
      if (!this.stopping) this.fail(`the inspector at ${this.url} closed the connection`);
      this.status = 'gone';
    });
    // Whatever the inspector says back is of no use to us.
    socket.on('message', () => undefined);
  }

  send(event: StatelyInspectionEvent): void {
    if (this.status === 'gone') return;
    let text: string;
    try {
      text = JSON.stringify(event);
    } catch {
      return; // not JSON data (a cycle, a BigInt): the inspector could not show it either
    }
    if (this.status === 'open') {
      this.socket?.send(text);
      return;
    }
    this.queued.push(text);
    if (this.queued.length > this.limits.backlog) this.queued.shift();
  }

  async close(): Promise<void> {
    this.stopping = true;
    const socket = this.socket;
    if (socket === undefined) return;
    if (this.status === 'connecting') {
      await firstOf(socket, ['open', 'close', 'error'], this.limits.connectWaitMs);
      if (this.status === 'connecting') {
        this.fail(`the inspector at ${this.url} did not answer within ${this.limits.connectWaitMs} ms`);
      }
    }
    if (socket.readyState === WebSocket.OPEN) {
      // The close frame follows the queued messages, so they are delivered first.
      const closed = firstOf(socket, ['close'], this.limits.closeWaitMs);
      socket.close(1000, 'done');
      await closed;
    }
    this.status = 'gone';
    this.queued.length = 0;
    socket.terminate();
  }

  private fail(text: string): void {
    this.status = 'gone';
    this.queued.length = 0;
    if (this.warned) return;
    this.warned = true;
    this.warn(text);
  }
}

/**
 * Connects to the inspector at `url` (in the background: nothing waits for
 * it). `warn` gets at most one line, when the inspector cannot be reached or
 * goes away; the caller goes on without it.
 */
export const openInspector = (
  url: string,
  warn: (text: string) => void,
  limits: Partial<InspectorLimits> = {},
): LiveInspector => {
  const link = new InspectorLink(url, warn, { ...DEFAULT_LIMITS, ...limits });
  const inspector = createInspector(link);
  inspector.start();
  let stopped: Promise<void> | undefined;
  return {
    url,
    inspect: (event) => inspector.inspect.next?.(event),
    stop: () =>
      (stopped ??= (async () => {
        // The package hands each event over on a zero-delay timer: let the last ones through first.
        await new Promise((resolve) => setTimeout(resolve, 0));
        // Not `inspector.stop()`: the link's own close is the one that waits, within bounds.
        await link.close().catch(() => undefined);
      })()),
  };
};
