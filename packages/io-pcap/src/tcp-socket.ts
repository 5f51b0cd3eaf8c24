import { Duplex } from 'node:stream';
import type { ConnectionError, SendOptions, SocketId } from '@tcpts/core';
import { ConnectionFailure, type ConnectionErrorCode } from './errors.js';

/** What a socket may ask of the host through the driver; every call also lets the driver drain the host. */
export interface SocketLink {
  send(socket: SocketId, data: Uint8Array, options?: SendOptions): number;
  consume(socket: SocketId, bytes: number): void;
  close(socket: SocketId): void;
  abort(socket: SocketId): void;
  state(socket: SocketId): string | undefined;
  release(data: Uint8Array): void;
}

export interface TcpSocketOptions {
  remoteAddress: string;
  remotePort: number;
  /** Keep our side writable after the peer's FIN, as `net.Socket` does when true. Default false. */
  allowHalfOpen?: boolean;
}

const ERROR_CODES: Record<ConnectionError, ConnectionErrorCode> = {
  refused: 'ECONNREFUSED',
  reset: 'ECONNRESET',
  'timed-out': 'ETIMEDOUT',
  unreachable: 'EHOSTUNREACH',
  'path-unreachable': 'EHOSTUNREACH',
};

export function connectionFailure(error: ConnectionError, remote: string): ConnectionFailure {
  const code = ERROR_CODES[error];
  const what: Record<ConnectionError, string> = {
    refused: 'connection refused',
    reset: 'connection reset by peer',
    'timed-out': 'connection timed out',
    unreachable: 'host unreachable (no ARP reply)',
    'path-unreachable': 'host unreachable (the path said so by ICMP, and the connection timed out)',
  };
  return new ConnectionFailure(code, `${what[error]}: ${remote}`);
}

const STREAM_BUFFER = 64 * 1024;
const URGENT: SendOptions = { urgent: true };

/**
 * One TCP connection of the stack as a Node `Duplex`, with back-pressure both ways:
 * - writing: `_write` completes only once the host's send buffer took every
 *   byte; when it took less, the rest waits for the host's `writable` event;
 * - reading: delivered bytes are `consume`d (reopening the TCP window) only
 *   once the stream's consumer has them, i.e. when `push` says the buffer has
 *   room or when `_read` asks for more. A slow reader thus closes the window
 *   (RFC 9293 §3.8.6) instead of letting memory grow.
 *
 * Urgent data (RFC 9293 §3.8.5) stays in line: `writeUrgent` writes bytes
 * that TCP's urgent pointer marks, and the `'urgent'` event (with a stream
 * offset) says where the peer's urgent data ends, so that offset minus the
 * bytes read so far is how much of it is still to read.
 */
export class TcpSocket extends Duplex {
  readonly remoteAddress: string;
  readonly remotePort: number;
  private port: number | undefined;
  /** Bytes pushed to the stream whose `consume` is held back until the consumer takes them. */
  private unconsumed = 0;
  private blockedWrite: { rest: Uint8Array; urgent: boolean; callback: (error?: Error | null) => void } | undefined;
  /** Chunks written with `writeUrgent`: `_write` knows them by identity. */
  private readonly urgentChunks = new WeakSet<Buffer>();
  private hostAlive = true;
  private peerClosed = false;
  private closeRequested = false;

  constructor(
    private readonly link: SocketLink,
    readonly id: SocketId,
    options: TcpSocketOptions,
  ) {
    super({
      allowHalfOpen: options.allowHalfOpen ?? false,
      readableHighWaterMark: STREAM_BUFFER,
      writableHighWaterMark: STREAM_BUFFER,
    });
    this.remoteAddress = options.remoteAddress;
    this.remotePort = options.remotePort;
  }

  /** Our port, chosen by the host; known once the SYN has been sent. */
  get localPort(): number | undefined {
    return this.port;
  }

  /** RFC 9293 state name, or undefined once the connection is gone. */
  state(): string | undefined {
    return this.hostAlive ? this.link.state(this.id) : undefined;
  }

  /**
   * Writes urgent data (SEND with URGENT, RFC 9293 §3.10.2): in line after what
   * was written before, with TCP's urgent pointer at its end.
   */
  writeUrgent(data: Uint8Array, callback?: (error?: Error | null) => void): boolean {
    // A view of its own, so no other write of the same bytes is taken for urgent.
    const chunk = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.urgentChunks.add(chunk);
    return callback === undefined ? this.write(chunk) : this.write(chunk, callback);
  }

  /** Whether this connection should keep the process alive (the stream is still in use). */
  get inUse(): boolean {
    return !this.destroyed && !(this.readableEnded && this.writableFinished);
  }

  // ---- driven by the driver, from host events ----

  learnLocalPort(port: number): void {
    this.port ??= port;
  }

  deliver(data: Uint8Array): void {
    if (this.destroyed || this.peerClosed) return;
    this.unconsumed += data.length;
    if (this.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength))) this.releaseConsumed();
  }

  /**
   * Gives back the memory of a chunk this stream delivered, once the reader is
   * done with every byte of it (written out, parsed, copied): the stack reuses
   * it for later data instead of fresh memory. Optional; never for a chunk
   * still in use (see `NetworkHost.release`). Chunks joined by `read()` are
   * new memory, and releasing them does nothing.
   */
  release(chunk: Uint8Array): void {
    this.link.release(chunk);
  }

  hostWritable(): void {
    const blocked = this.blockedWrite;
    if (blocked === undefined || this.destroyed) return;
    this.blockedWrite = undefined;
    this.offer(blocked.rest, blocked.urgent, blocked.callback);
  }

  /** The peer's urgent data ends at stream offset `end` (RFC 9293 §3.10.7.4, sixth step). */
  hostUrgent(end: number): void {
    if (!this.destroyed) this.emit('urgent', end);
  }

  hostPeerClosed(): void {
    if (this.peerClosed || this.destroyed) return;
    this.peerClosed = true;
    this.push(null);
  }

  hostError(error: ConnectionError): void {
    this.hostAlive = false;
    this.destroy(connectionFailure(error, `${this.remoteAddress}:${this.remotePort}`));
  }

  hostClosed(): void {
    this.hostAlive = false;
  }

  // ---- Duplex implementation ----

  override _read(): void {
    this.releaseConsumed();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.offer(chunk, this.urgentChunks.has(chunk), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    try {
      this.closeRequested = true;
      if (this.hostAlive) this.link.close(this.id);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.blockedWrite = undefined;
    // After a clean close in both directions the host finishes on its own (LAST-ACK,
    // TIME-WAIT); anything else is an abort (RFC 9293 §3.10.5), as `net.Socket#destroy` is.
    const cleanlyClosed = error === null && this.closeRequested && this.peerClosed;
    if (this.hostAlive && !cleanlyClosed) {
      try {
        this.link.abort(this.id);
      } catch {
        // The host already forgot it.
      }
    }
    callback(error);
  }

  private offer(data: Uint8Array, urgent: boolean, callback: (error?: Error | null) => void): void {
    let accepted: number;
    try {
      accepted = !this.hostAlive ? 0 : urgent ? this.link.send(this.id, data, URGENT) : this.link.send(this.id, data);
    } catch (error) {
      callback(error as Error);
      return;
    }
    if (!this.hostAlive) {
      callback(new ConnectionFailure('ECONNRESET', `connection to ${this.remoteAddress}:${this.remotePort} is closed`));
    } else if (accepted >= data.length) {
      callback();
    } else {
      this.blockedWrite = { rest: data.subarray(accepted), urgent, callback };
    }
  }

  private releaseConsumed(): void {
    if (this.unconsumed === 0 || !this.hostAlive) return;
    const bytes = this.unconsumed;
    this.unconsumed = 0;
    this.link.consume(this.id, bytes);
  }
}
