import type { HostEvent, NetworkHost, SocketId } from '@tcpts/core';
import type { LinkEndpoint } from './link.js';
import { MockSocket } from './socket.js';
import type { SimContext } from './socket.js';

/**
 * A `NetworkHost` attached to a simulation, with a small application layer on
 * top: sockets that record what they receive and model writers and readers.
 */
export class SimHost implements LinkEndpoint {
  /** Every socket this application layer knows, by id. */
  readonly sockets = new Map<SocketId, MockSocket>();
  /** Connections accepted on any listener, in order. */
  readonly accepted: MockSocket[] = [];
  /** Frames handed to the host with `receiveFrame`, and frames taken from it. */
  framesReceived = 0;
  framesSent = 0;
  /** Sees every event of the host, after sockets have handled theirs. */
  onEvent: ((event: HostEvent, host: SimHost) => void) | undefined;

  private readonly listeners = new Map<SocketId, ((socket: MockSocket) => void) | undefined>();

  constructor(
    readonly host: NetworkHost,
    readonly mac: number,
    readonly name: string,
    private readonly context: SimContext,
    /** Its device finishes and checks TCP checksums (see `Simulation.addHost`). */
    readonly checksumOffload = false,
    /** Its device merges the segments that arrive together (see `Simulation.addHost`). */
    readonly receiveCoalescing = false,
  ) {}

  /** Active open (RFC 9293 §3.10.1); writes wait until the connection is established. */
  connect(ip: number, port: number, localPort?: number): MockSocket {
    const id = this.host.connect(ip, port, this.context.now, localPort);
    const socket = new MockSocket(id, this.host, this.context);
    this.sockets.set(id, socket);
    return socket;
  }

  /** Passive open; `onAccept` gets each new connection. Returns the listener's id. */
  listen(port: number, onAccept?: (socket: MockSocket) => void): SocketId {
    const id = this.host.listen(port, this.context.now);
    this.listeners.set(id, onAccept);
    return id;
  }

  socket(id: SocketId): MockSocket | undefined {
    return this.sockets.get(id);
  }

  /**
   * Routes one host event to its socket; the simulation calls this while draining.
   * Only sockets opened through this object get the application layer: a listener
   * opened on `host` directly leaves its connections to `onEvent` alone, so code
   * that drives the host by hand does not see bytes consumed behind its back.
   */
  dispatch(event: HostEvent): void {
    if (event.type === 'accepted' && this.listeners.has(event.listener)) {
      const socket = new MockSocket(event.socket, this.host, this.context, { accepted: true });
      this.sockets.set(event.socket, socket);
      this.accepted.push(socket);
      this.listeners.get(event.listener)?.(socket);
    } else if (event.type !== 'accepted') {
      this.sockets.get(event.socket)?.handleEvent(event);
    }
    this.onEvent?.(event, this);
  }
}
