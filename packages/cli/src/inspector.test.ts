/**
 * The inspector link against WebSocket servers on loopback: the messages of a
 * real connection's actor arrive, and an inspector that is missing or mute
 * costs one warning and never holds the run up.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createHost, type HostConfig } from '@tcpts/core';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { openInspector } from './inspector.js';
import { parseInspectorUrl } from './inspector-url.js';

interface Message {
  readonly type: string;
  readonly sessionId?: string;
  readonly name?: string;
  readonly event?: { readonly type?: string };
  readonly snapshot?: { readonly value?: unknown };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A WebSocket server on 127.0.0.1 that keeps every message it is sent. */
const receiver = async (): Promise<{ url: string; messages: Message[]; closed: Promise<void> }> => {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const messages: Message[] = [];
  let onClosed = (): void => undefined;
  const closed = new Promise<void>((resolve) => (onClosed = resolve));
  server.on('connection', (socket) => {
    socket.on('message', (data) => messages.push(JSON.parse(String(data)) as Message));
    socket.on('close', () => onClosed());
  });
  cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, messages, closed };
};

/** A port on loopback that nothing listens on. */
const closedPort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
};

/** A TCP server that accepts and never says a word: a WebSocket handshake to it never completes. */
const muteServer = async (): Promise<number> => {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as AddressInfo).port;
};

const hostConfig = (inspect: HostConfig['inspect']): HostConfig => ({
  mac: 0x02_00_00_00_1f_02,
  ip: 0xc6121f02,
  prefixLength: 24,
  isnSecret: new Uint8Array(16),
  ...(inspect === undefined ? {} : { inspect }),
});

describe('openInspector', () => {
  it("delivers a connection actor's registration, events and snapshots, queued ones included", async () => {
    const { url, messages, closed } = await receiver();
    const warnings: string[] = [];
    const inspector = openInspector(url, (text) => warnings.push(text));
    // The connection starts before the WebSocket is open: its first messages wait in the queue.
    const host = createHost(hostConfig(inspector.inspect));
    const socket = host.connect(0xc6121f01, 80, 0);
    host.abort(socket, 1);
    await inspector.stop();
    await closed;
    expect(warnings).toEqual([]);
    const types = new Set(messages.map((m) => m.type));
    expect(types).toEqual(new Set(['@xstate.actor', '@xstate.event', '@xstate.snapshot']));
    const sessions = new Set(messages.map((m) => m.sessionId));
    expect(sessions.size).toBe(1);
    expect(messages.find((m) => m.type === '@xstate.actor')?.name).toBe('tcp');
    const events = messages.filter((m) => m.type === '@xstate.event').map((m) => m.event?.type);
    expect(events).toEqual(expect.arrayContaining(['OPEN_ACTIVE', 'ABORT']));
    const states = messages.filter((m) => m.type === '@xstate.snapshot').map((m) => m.snapshot?.value);
    // The actor's first snapshot is its initial state, before any event.
    expect(states).toEqual(['CLOSED', 'SYN-SENT', 'CLOSED']);
  });

  it('warns once when nothing listens, and stops at once', async () => {
    const port = await closedPort();
    const warnings: string[] = [];
    const inspector = openInspector(`ws://127.0.0.1:${port}`, (text) => warnings.push(text));
    const host = createHost(hostConfig(inspector.inspect));
    host.connect(0xc6121f01, 80, 0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const socket = host.connect(0xc6121f01, 81, 1);
    host.abort(socket, 2);
    const started = performance.now();
    await inspector.stop();
    expect(performance.now() - started).toBeLessThan(500);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`cannot reach the inspector at ws://127\\.0\\.0\\.1:${port} \\(.*ECONNREFUSED`));
  });

  it('gives up on an inspector that never completes the handshake within the bound', async () => {
    const port = await muteServer();
    const warnings: string[] = [];
    const inspector = openInspector(`ws://127.0.0.1:${port}`, (text) => warnings.push(text), { connectWaitMs: 200 });
    const host = createHost(hostConfig(inspector.inspect));
    host.connect(0xc6121f01, 80, 0);
    const started = performance.now();
    await inspector.stop();
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(warnings).toHaveLength(1);
    // Whichever bound fires first: the socket's handshake timeout or stop's wait, both 200 ms.
    expect(warnings[0]).toMatch(/^(cannot reach the inspector at .* \(Opening handshake has timed out\)|the inspector at .* did not answer within 200 ms)$/);
  });

  it('stops once however often it is asked', async () => {
    const { url, closed } = await receiver();
    const inspector = openInspector(url, () => undefined);
    const first = inspector.stop();
    expect(inspector.stop()).toBe(first);
    await first;
    await closed;
  });
});

describe('parseInspectorUrl', () => {
  it.each(['ws://localhost:8080', 'wss://inspect.example:443/path', 'ws://[::1]:9000'])('takes %s', (url) => {
    expect(parseInspectorUrl(url)).toBe(url);
  });

  it.each(['http://198.18.31.1:8080/', '198.18.31.1:8080', 'page.html', 'ws//x'])('refuses %s, saying how to write it', (text) => {
    expect(() => parseInspectorUrl(text)).toThrow(/ws:\/\/ or wss:\/\/ URL .*--inspect=ws:\/\//);
  });
});
