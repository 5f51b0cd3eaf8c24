import type { NetworkHost, SocketId } from '@tcpts/core';
import { buildEthernetFrame, readMac } from '../ethernet.js';
import { ToyMisuse } from './fake-hosts.js';
import { QueueingHost } from './queueing-host.js';

/**
 * A toy connection-oriented host for testing the socket layer without the real
 * stack. It is NOT TCP: there is no retransmission, so it only works on a
 * lossless link. What it does model is what the socket layer must handle: a
 * bounded send buffer (`send` accepts less, then `writable`), a credit-based
 * receive window reopened only by `consume`, graceful close and reset.
 *
 * Addressing: the MAC of IP address `ip` is `toyMac(ip)`.
 */

export const toyMac = (ip: number): number => 0x02_00_00_00_00_00 + ip;

const ETHERTYPE_TOY = 0x88b5; // IEEE local experimental EtherType
const HEADER = 14;
const Kind = { OPEN: 1, ACCEPT: 2, DATA: 3, CREDIT: 4, FIN: 5, RST: 6 } as const;

export interface ToyHostOptions {
  readonly sendBufferSize?: number;
  readonly receiveWindow?: number;
  readonly segmentSize?: number;
}

interface ToyConnection {
  readonly id: SocketId;
  readonly localPort: number;
  readonly remotePort: number;
  readonly remoteIp: number;
  state: string;
  readonly sendQueue: Uint8Array[];
  queuedBytes: number;
  peerWindow: number;
  wantsWritable: boolean;
  closeRequested: boolean;
  finSent: boolean;
  finReceived: boolean;
  /** Bytes delivered but not yet consumed: the receive window must cover them. */
  unconsumed: number;
}

export class ToyStreamHost extends QueueingHost implements NetworkHost {
  readonly mac: number;
  /** Largest number of unconsumed bytes ever held (for window tests). */
  maxUnconsumed = 0;
  private readonly sendBufferSize: number;
  private readonly receiveWindow: number;
  private readonly segmentSize: number;
  private readonly connections = new Map<SocketId, ToyConnection>();
  private readonly listeners = new Map<number, SocketId>();
  private nextId = 1;
  private nextPort = 49152;

  constructor(
    readonly ip: number,
    options: ToyHostOptions = {},
  ) {
    super();
    this.mac = toyMac(ip);
    this.sendBufferSize = options.sendBufferSize ?? 16 * 1024;
    this.receiveWindow = options.receiveWindow ?? 64 * 1024;
    this.segmentSize = options.segmentSize ?? 1000;
  }

  receiveFrame(received: Uint8Array, _now: number): void {
    this.stats.framesIn++;
    // The caller may reuse the buffer once this returns (see `NetworkHost`): payloads are handed on, so copy.
    const frame = received.slice();
    if (frame.length < HEADER + 9 || frame[12] !== ETHERTYPE_TOY >> 8 || frame[13] !== (ETHERTYPE_TOY & 0xff)) {
      this.stats.dropped.set('not-toy', (this.stats.dropped.get('not-toy') ?? 0) + 1);
      return;
    }
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const kind = frame[HEADER]!;
    const sourcePort = view.getUint16(HEADER + 1);
    const destinationPort = view.getUint16(HEADER + 3);
    const value = view.getUint32(HEADER + 5);
    const payload = frame.subarray(HEADER + 9);
    const sourceIp = readMac(frame, 6) - toyMac(0);

    if (kind === Kind.OPEN) {
      const listener = this.listeners.get(destinationPort);
      if (listener === undefined) {
        this.emitFrame(sourceIp, destinationPort, sourcePort, Kind.RST, 0);
        return;
      }
      const connection = this.create(destinationPort, sourcePort, sourceIp, 'ESTABLISHED');
      connection.peerWindow = value;
      this.events.push({ type: 'accepted', listener, socket: connection.id, remoteIp: sourceIp, remotePort: sourcePort });
      this.emitFrame(sourceIp, destinationPort, sourcePort, Kind.ACCEPT, this.receiveWindow);
      return;
    }
    const connection = [...this.connections.values()].find(
      (c) => c.localPort === destinationPort && c.remotePort === sourcePort && c.remoteIp === sourceIp,
    );
    if (connection === undefined) return;
    switch (kind) {
      case Kind.ACCEPT:
        connection.peerWindow = value;
        this.setState(connection, 'ESTABLISHED');
        this.events.push({ type: 'connected', socket: connection.id });
        this.pump(connection);
        break;
      case Kind.DATA:
        connection.unconsumed += payload.length;
        if (connection.unconsumed > this.receiveWindow) throw new Error('toy peer overran the receive window');
        this.maxUnconsumed = Math.max(this.maxUnconsumed, connection.unconsumed);
        this.events.push({ type: 'data', socket: connection.id, data: payload });
        break;
      case Kind.CREDIT:
        connection.peerWindow += value;
        this.pump(connection);
        break;
      case Kind.FIN:
        connection.finReceived = true;
        this.events.push({ type: 'peer-closed', socket: connection.id });
        this.setState(connection, connection.finSent ? 'CLOSED' : 'CLOSE-WAIT');
        this.finishIfDone(connection);
        break;
      case Kind.RST:
        this.events.push({
          type: 'error',
          socket: connection.id,
          error: connection.state === 'SYN-SENT' ? 'refused' : 'reset',
        });
        this.remove(connection);
        break;
    }
  }

  connect(remoteIp: number, remotePort: number, _now: number, localPort?: number): SocketId {
    const connection = this.create(localPort ?? this.nextPort++, remotePort, remoteIp, 'SYN-SENT');
    this.emitFrame(remoteIp, connection.localPort, remotePort, Kind.OPEN, this.receiveWindow);
    return connection.id;
  }

  listen(port: number, _now: number): SocketId {
    if (this.listeners.has(port)) throw new ToyMisuse('port-in-use', `port ${port} is taken`);
    const id = this.nextId++;
    this.listeners.set(port, id);
    return id;
  }

  send(socket: SocketId, data: Uint8Array, _now: number): number {
    const connection = this.get(socket);
    if (connection.closeRequested) throw new ToyMisuse('invalid-state', 'send after close');
    const accepted = Math.min(data.length, this.sendBufferSize - connection.queuedBytes);
    if (accepted > 0) {
      connection.sendQueue.push(data.slice(0, accepted));
      connection.queuedBytes += accepted;
    }
    if (accepted < data.length) connection.wantsWritable = true;
    this.pump(connection);
    return accepted;
  }

  consume(socket: SocketId, bytes: number, _now: number): void {
    const connection = this.get(socket);
    if (bytes > connection.unconsumed) throw new ToyMisuse('invalid-argument', 'consumed more than delivered');
    connection.unconsumed -= bytes;
    if (bytes > 0) this.emitFrame(connection.remoteIp, connection.localPort, connection.remotePort, Kind.CREDIT, bytes);
  }

  close(socket: SocketId, _now: number): void {
    const connection = this.get(socket);
    connection.closeRequested = true;
    this.pump(connection);
  }

  abort(socket: SocketId, _now: number): void {
    const connection = this.get(socket);
    this.emitFrame(connection.remoteIp, connection.localPort, connection.remotePort, Kind.RST, 0);
    this.remove(connection);
  }

  socketState(socket: SocketId): string | undefined {
    return this.connections.get(socket)?.state;
  }

  private create(localPort: number, remotePort: number, remoteIp: number, state: string): ToyConnection {
    const connection: ToyConnection = {
      id: this.nextId++,
      localPort,
      remotePort,
      remoteIp,
      state,
      sendQueue: [],
      queuedBytes: 0,
      peerWindow: 0,
      wantsWritable: false,
      closeRequested: false,
      finSent: false,
      finReceived: false,
      unconsumed: 0,
    };
    this.connections.set(connection.id, connection);
    return connection;
  }

  private get(socket: SocketId): ToyConnection {
    const connection = this.connections.get(socket);
    if (connection === undefined) throw new ToyMisuse('unknown-socket', `no socket ${socket}`);
    return connection;
  }

  private setState(connection: ToyConnection, state: string): void {
    if (connection.state === state) return;
    this.events.push({ type: 'state', socket: connection.id, from: connection.state, to: state, at: 0 });
    connection.state = state;
  }

  private remove(connection: ToyConnection): void {
    this.connections.delete(connection.id);
    this.events.push({ type: 'closed', socket: connection.id });
  }

  private finishIfDone(connection: ToyConnection): void {
    if (connection.finSent && connection.finReceived) this.remove(connection);
  }

  /** Sends what the peer's window allows, then FIN once everything is out. */
  private pump(connection: ToyConnection): void {
    if (connection.state === 'SYN-SENT') return;
    while (connection.queuedBytes > 0 && connection.peerWindow > 0) {
      const size = Math.min(this.segmentSize, connection.peerWindow, connection.queuedBytes);
      const segment = new Uint8Array(size);
      let filled = 0;
      while (filled < size) {
        const head = connection.sendQueue[0]!;
        const take = Math.min(head.length, size - filled);
        segment.set(head.subarray(0, take), filled);
        filled += take;
        if (take === head.length) connection.sendQueue.shift();
        else connection.sendQueue[0] = head.subarray(take);
      }
      connection.queuedBytes -= size;
      connection.peerWindow -= size;
      this.emitFrame(connection.remoteIp, connection.localPort, connection.remotePort, Kind.DATA, 0, segment);
    }
    if (connection.wantsWritable && connection.queuedBytes < this.sendBufferSize) {
      connection.wantsWritable = false;
      this.events.push({ type: 'writable', socket: connection.id });
    }
    if (connection.closeRequested && connection.queuedBytes === 0 && !connection.finSent) {
      connection.finSent = true;
      this.emitFrame(connection.remoteIp, connection.localPort, connection.remotePort, Kind.FIN, 0);
      this.setState(connection, connection.finReceived ? 'CLOSED' : 'FIN-WAIT-1');
      this.finishIfDone(connection);
    }
  }

  private emitFrame(
    remoteIp: number,
    localPort: number,
    remotePort: number,
    kind: number,
    value: number,
    payload: Uint8Array = new Uint8Array(0),
  ): void {
    const body = new Uint8Array(9 + payload.length);
    const view = new DataView(body.buffer);
    body[0] = kind;
    view.setUint16(1, localPort);
    view.setUint16(3, remotePort);
    view.setUint32(5, value);
    body.set(payload, 9);
    this.outbox.push(buildEthernetFrame(toyMac(remoteIp), this.mac, ETHERTYPE_TOY, body));
  }
}
