/**
 * Two core hosts joined by a perfect in-memory wire, in virtual time: a
 * client asks, a server answers and closes, the client closes. The client's
 * host can be wrapped (to record it, to observe it), which is how the tests
 * of `replay` and `--trace` get real runs without any network.
 */
import { createHost, type HostConfig, type HostEvent, type NetworkHost, type SocketId } from '@tcpts/core';

export const CLIENT_IP = 0xc6121e02; // 198.18.30.2
export const SERVER_IP = 0xc6121e01; // 198.18.30.1
export const SERVER_PORT = 8080;

export const clientConfig = (secretByte = 7): HostConfig => ({
  mac: 0x02_00_00_00_1e_02,
  ip: CLIENT_IP,
  prefixLength: 24,
  isnSecret: new Uint8Array(16).fill(secretByte),
  traceSegments: true,
});

const serverConfig: HostConfig = {
  mac: 0x02_00_00_00_1e_01,
  ip: SERVER_IP,
  prefixLength: 24,
  isnSecret: new Uint8Array(16).fill(9),
};

/** A head and 20 000 bytes of body: enough for slow start to show in a few round trips. */
const defaultResponse = new TextEncoder().encode(
  `HTTP/1.0 200 OK\r\n\r\nhello over an in-memory wire\n${'0123456789abcdef'.repeat(1250)}`,
);

export interface ExchangeResult {
  /** The bytes the client received. */
  readonly received: Uint8Array;
  /** Frames the client sent and received. */
  readonly framesOut: number;
  readonly framesIn: number;
  /** Events the client's host gave out. */
  readonly events: readonly HostEvent[];
}

export interface ExchangeOptions {
  readonly request?: Uint8Array;
  readonly response?: Uint8Array;
  /** The port the client connects to; a port nobody listens on is refused. */
  readonly port?: number;
}

/**
 * Runs one request/response over `client` (made from `clientConfig()` by the
 * caller, possibly wrapped) and a plain server host. Time moves 1 ms per
 * round; the run stops when the client's socket is gone or after 10 virtual
 * seconds (TIME-WAIT is left running).
 */
export const runExchange = (client: NetworkHost, options: ExchangeOptions = {}): ExchangeResult => {
  const request = options.request ?? new TextEncoder().encode('GET / HTTP/1.0\r\n\r\n');
  const response = options.response ?? defaultResponse;
  const server = createHost(serverConfig);
  server.listen(SERVER_PORT, 0);
  const socket: SocketId = client.connect(SERVER_IP, options.port ?? SERVER_PORT, 0);
  const received: number[] = [];
  const events: HostEvent[] = [];
  let framesOut = 0;
  let framesIn = 0;
  let clientClosed = false;
  for (let now = 0; now <= 10_000; now++) {
    client.advanceTime(now);
    server.advanceTime(now);
    for (let frame = client.pollFrame(); frame !== undefined; frame = client.pollFrame()) {
      framesOut++;
      server.receiveFrame(frame.slice(), now);
    }
    for (let frame = server.pollFrame(); frame !== undefined; frame = server.pollFrame()) {
      framesIn++;
      client.receiveFrame(frame.slice(), now);
    }
    for (let event = server.pollEvent(); event !== undefined; event = server.pollEvent()) {
      if (event.type === 'data') {
        server.consume(event.socket, event.data.length, now);
        server.send(event.socket, response, now);
        server.close(event.socket, now);
      }
    }
    for (let event = client.pollEvent(); event !== undefined; event = client.pollEvent()) {
      events.push(event);
      if (event.type === 'connected') client.send(socket, request, now);
      if (event.type === 'data') {
        received.push(...event.data);
        client.consume(socket, event.data.length, now);
      }
      if (event.type === 'peer-closed' && !clientClosed) {
        clientClosed = true;
        client.close(socket, now);
      }
    }
    const state = client.socketState(socket);
    if (state === undefined || state === 'TIME-WAIT') break;
  }
  return { received: Uint8Array.from(received), framesOut, framesIn, events };
};
