import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runWithSeed } from './run-with-seed.js';
import type { MockSocket } from './socket.js';
import { Simulation } from './simulation.js';
import { ToyStreamHost } from './testing/toy-stream-host.js';
import type { ToyHostOptions } from './testing/toy-stream-host.js';

const CLIENT_IP = 0xc6_12_00_01; // 198.18.0.1
const SERVER_IP = 0xc6_12_00_02; // 198.18.0.2

const pattern = (length: number, salt = 0): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 7 + salt) & 0xff);

/** Length and first differing index: a readable failure without a slow deep diff of big arrays. */
const expectSameBytes = (actual: Uint8Array, expected: Uint8Array): void => {
  let firstDifference = -1;
  const common = Math.min(actual.length, expected.length);
  for (let i = 0; i < common && firstDifference < 0; i++) if (actual[i] !== expected[i]) firstDifference = i;
  expect({ length: actual.length, firstDifference }).toEqual({ length: expected.length, firstDifference: -1 });
};

const twoHosts = (sim: Simulation, client: ToyHostOptions = {}, server: ToyHostOptions = {}) => {
  const clientHost = new ToyStreamHost(CLIENT_IP, client);
  const serverHost = new ToyStreamHost(SERVER_IP, server);
  return {
    clientHost,
    serverHost,
    client: sim.addHost(clientHost, clientHost.mac, { name: 'client' }),
    server: sim.addHost(serverHost, serverHost.mac, { name: 'server' }),
  };
};

describe('MockSocket', () => {
  it('connects, accepts and echoes', () => {
    const sim = new Simulation({ seed: 1, faults: { delay: 1 } });
    const { client, server } = twoHosts(sim);
    const accepted: MockSocket[] = [];
    server.listen(7, (socket) => {
      accepted.push(socket);
      socket.onData = (data) => socket.write(data);
    });
    const socket = client.connect(SERVER_IP, 7);
    socket.write(new TextEncoder().encode('hello'));
    const result = sim.run({ maxTime: 1000, until: () => socket.bytesReceived === 5 });
    expect(result.reason).toBe('until');
    expect(socket.receivedText()).toBe('hello');
    expect(socket.connected).toBe(true);
    expect(socket.events).toEqual(['connected']);
    expect(socket.states).toEqual(['SYN-SENT>ESTABLISHED']);
    expect(accepted).toHaveLength(1);
    expect(server.accepted).toEqual(accepted);
    expect(accepted[0]!.events).toEqual(['accepted']);
    expect(accepted[0]!.state()).toBe('ESTABLISHED');
  });

  it('holds writes in the app-side queue while the host send buffer is full, resuming on writable', () => {
    const sim = new Simulation({ seed: 1, faults: { delay: 2 } });
    const { client, server } = twoHosts(sim, { sendBufferSize: 4096 }, { receiveWindow: 8192 });
    server.listen(9);
    const data = pattern(200_000);
    const socket = client.connect(SERVER_IP, 9);
    socket.write(data.subarray(0, 150_000));
    socket.write(data.subarray(150_000));
    // Not connected yet: nothing has entered the host.
    expect(socket.bytesAccepted).toBe(0);
    expect(socket.bytesPending).toBe(200_000);

    let sawBackPressure = false;
    sim.run({
      maxTime: 100_000,
      until: () => {
        if (socket.bytesPending > 0 && socket.bytesAccepted > 0) sawBackPressure = true;
        return server.accepted[0]?.bytesReceived === data.length;
      },
    });
    expect(sawBackPressure).toBe(true);
    expect(socket.bytesPending).toBe(0);
    expect(socket.bytesAccepted).toBe(data.length);
    expectSameBytes(server.accepted[0]!.received(), data);
  });

  it('ends gracefully only after every written byte went out', () => {
    const sim = new Simulation({ seed: 1, faults: { delay: 1 } });
    const { client, server } = twoHosts(sim, { sendBufferSize: 2048 });
    const data = pattern(30_000, 3);
    let receivedAtPeerClose = -1;
    server.listen(80, (socket) => {
      socket.onEvent = (event) => {
        if (event.type === 'peer-closed') {
          receivedAtPeerClose = socket.bytesReceived;
          socket.end();
        }
      };
    });
    const socket = client.connect(SERVER_IP, 80);
    socket.write(data);
    socket.end();
    expect(() => socket.write(pattern(1))).toThrow(/after end/);
    expect(sim.run({ maxTime: 100_000 }).reason).toBe('idle');
    expect(receivedAtPeerClose).toBe(data.length);
    expect(socket.events).toEqual(['connected', 'peer-closed', 'closed']);
    expect(server.accepted[0]!.events).toEqual(['accepted', 'peer-closed', 'closed']);
    expect(socket.closed && socket.peerClosed).toBe(true);
    expect(socket.state()).toBeUndefined();
  });

  it('models a slow reader: the window fills and the transfer runs at the read rate', () => {
    const sim = new Simulation({ seed: 1, faults: { delay: 1 } });
    const { client, server, serverHost } = twoHosts(sim, {}, { receiveWindow: 2000 });
    server.listen(80, (socket) => {
      socket.readRate = 10; // bytes per virtual ms
    });
    const data = pattern(10_000);
    const socket = client.connect(SERVER_IP, 80);
    socket.write(data);
    const result = sim.run({ maxTime: 100_000, until: () => server.accepted[0]?.bytesConsumed === data.length });
    expect(result.reason).toBe('until');
    expectSameBytes(server.accepted[0]!.received(), data);
    // The window is full while the reader lags, and never exceeded.
    expect(serverHost.maxUnconsumed).toBe(2000);
    // 10 000 bytes at 10 B/ms take about a second once the first window is in.
    expect(result.time).toBeGreaterThanOrEqual(990);
    expect(result.time).toBeLessThan(1100);
  });

  it('stalls while reading is paused and completes after resumeReading', () => {
    const sim = new Simulation({ seed: 1, faults: { delay: 1 } });
    const { client, server, serverHost } = twoHosts(sim, { sendBufferSize: 1000 }, { receiveWindow: 3000 });
    server.listen(80, (socket) => socket.pauseReading());
    const data = pattern(20_000);
    const socket = client.connect(SERVER_IP, 80);
    socket.write(data);
    // The toy host has no persist timer, so a closed window leaves nothing to do.
    expect(sim.run({ maxTime: 10_000 }).reason).toBe('idle');
    const reader = server.accepted[0]!;
    expect(reader.bytesReceived).toBe(3000);
    expect(reader.bytesConsumed).toBe(0);
    expect(serverHost.maxUnconsumed).toBe(3000);
    expect(socket.bytesPending).toBe(20_000 - 3000 - 1000);

    reader.resumeReading();
    expect(sim.run({ maxTime: 20_000 }).reason).toBe('idle');
    expectSameBytes(reader.received(), data);
    expect(reader.bytesConsumed).toBe(data.length);
  });

  it('aborts: the peer sees a reset and both ends are closed', () => {
    const sim = new Simulation({ seed: 1, faults: { delay: 1 } });
    const { client, server } = twoHosts(sim);
    server.listen(80);
    const socket = client.connect(SERVER_IP, 80);
    socket.write(pattern(10_000));
    sim.run({ maxTime: 1000, until: () => (server.accepted[0]?.bytesReceived ?? 0) > 0 });
    socket.abort();
    expect(socket.closed).toBe(true);
    expect(socket.aborted).toBe(true);
    sim.run({ maxTime: 1000 });
    const peer = server.accepted[0]!;
    expect(peer.error).toBe('reset');
    expect(peer.events).toEqual(['accepted', 'error:reset', 'closed']);
    expect(peer.closed).toBe(true);
  });

  it('leaves connections of a listener opened on the host itself to onEvent, unconsumed', () => {
    const sim = new Simulation({ seed: 1 });
    const { client, server, serverHost } = twoHosts(sim, {}, { receiveWindow: 5000 });
    serverHost.listen(80, sim.now);
    let rawBytes = 0;
    server.onEvent = (event) => {
      if (event.type === 'data') rawBytes += event.data.length;
    };
    const socket = client.connect(SERVER_IP, 80);
    socket.write(pattern(8000));
    expect(sim.run({ maxTime: 1000 }).reason).toBe('idle');
    expect(server.accepted).toHaveLength(0);
    expect(rawBytes).toBe(5000);
    expect(serverHost.maxUnconsumed).toBe(5000);
  });

  it('reports a refused connection', () => {
    const sim = new Simulation({ seed: 1 });
    const { client } = twoHosts(sim);
    const socket = client.connect(SERVER_IP, 81);
    sim.run({ maxTime: 1000 });
    expect(socket.connected).toBe(false);
    expect(socket.error).toBe('refused');
    expect(socket.events).toEqual(['error:refused', 'closed']);
  });

  it('delivers every byte in order for any chunking, buffers and read rate', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 100, max: 8000 }),
        fc.integer({ min: 100, max: 8000 }),
        fc.option(fc.integer({ min: 5, max: 500 }), { nil: undefined }),
        (seed, chunkSizes, sendBufferSize, receiveWindow, readRate) =>
          runWithSeed(seed, (sim) => {
            sim.defaultFaults = { delay: 0.5, bandwidth: 1000 };
            const { client, server } = twoHosts(sim, { sendBufferSize }, { receiveWindow, segmentSize: 700 });
            server.listen(80, (socket) => {
              socket.readRate = readRate;
            });
            const socket = client.connect(SERVER_IP, 80);
            const chunks = chunkSizes.map((size, i) => pattern(size, i));
            for (const chunk of chunks) socket.write(chunk);
            socket.end();
            const total = chunkSizes.reduce((sum, size) => sum + size, 0);
            const result = sim.run({ maxTime: 1_000_000, until: () => server.accepted[0]?.peerClosed === true });
            expect(result.reason).toBe('until');
            const expected = new Uint8Array(total);
            let offset = 0;
            for (const chunk of chunks) {
              expected.set(chunk, offset);
              offset += chunk.length;
            }
            expectSameBytes(server.accepted[0]!.received(), expected);
          }),
      ),
      { numRuns: 60 },
    );
  });
});
