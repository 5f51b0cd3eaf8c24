import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fragmentFrame } from '../wire/ipv4-fragment.js';
import { readU32, writeU32 } from '../wire/bytes.js';
import { encodeIcmpFrame, encodeTcpFrame } from '../wire/frame.js';
import { TcpFlag, type TcpSegment } from '../wire/tcp-types.js';
import { createHost } from './host.js';
import type { NetworkHost } from './host-types.js';

const A_IP = 0xc6120001;
const B_IP = 0xc6120002;
const A_MAC = 0x020000000001;
const B_MAC = 0x020000000002;
const secret = new Uint8Array(16).fill(3);

/** Two hosts with one established connection and a listener, quiet. */
function establishedPair(): { a: NetworkHost; b: NetworkHost; now: number; clientPort: number } {
  const a = createHost({ mac: A_MAC, ip: A_IP, prefixLength: 24, isnSecret: secret });
  const b = createHost({ mac: B_MAC, ip: B_IP, prefixLength: 24, isnSecret: secret, tcp: { msl: 100 } });
  b.listen(80, 0);
  a.connect(B_IP, 80, 0, 40000);
  let now = 0;
  for (let i = 0; i < 50; i++) {
    let moved = false;
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      for (let f = from.pollFrame(); f; f = from.pollFrame()) {
        to.receiveFrame(f, now);
        moved = true;
      }
      for (let e = from.pollEvent(); e; e = from.pollEvent()) moved = true;
    }
    if (!moved) now += 1;
  }
  return { a, b, now, clientPort: 40000 };
}

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const hostileSegment = fc.record({
  srcPort: fc.constantFrom(40000, 40001, 12345),
  dstPort: fc.constantFrom(80, 81, 40000),
  seq: u32,
  ack: u32,
  flags: fc.integer({ min: 0, max: 0xff }),
  window: fc.integer({ min: 0, max: 0xffff }),
  urgent: fc.integer({ min: 0, max: 0xffff }),
  options: fc.record(
    {
      mss: fc.integer({ min: 0, max: 0xffff }),
      windowScale: fc.integer({ min: 0, max: 14 }),
      sackPermitted: fc.boolean(),
      sack: fc.array(fc.record({ left: u32, right: u32 }), { minLength: 1, maxLength: 3 }),
      timestamps: fc.record({ value: u32, echo: u32 }),
    },
    { requiredKeys: [] },
  ),
  payload: fc.uint8Array({ maxLength: 64 }),
});

describe('hostile input', () => {
  it('never throws on arbitrary bytes, and counts what it drops', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 30 }), (frames) => {
        const { b, now } = establishedPair();
        const dropsBefore = [...b.stats.dropped.values()].reduce((x, y) => x + y, 0);
        for (const frame of frames) b.receiveFrame(frame, now);
        for (let f = b.pollFrame(); f; f = b.pollFrame());
        const dropsAfter = [...b.stats.dropped.values()].reduce((x, y) => x + y, 0);
        expect(dropsAfter - dropsBefore).toBe(frames.length);
      }),
      { numRuns: 200 },
    );
  });

  it('never throws on well-formed segments with any flags, numbers and options, whole or in IPv4 fragments, and keeps a sane state', () => {
    // A fragment size of 0 sends the segment whole; fragments of one segment arrive in any order, some twice.
    const fragmenting = fc.record({ chunk: fc.constantFrom(0, 0, 8, 16, 48), order: fc.array(fc.nat(20), { maxLength: 8 }) });
    fc.assert(
      fc.property(fc.array(fc.tuple(hostileSegment, fc.nat(70_000), fragmenting), { minLength: 1, maxLength: 25 }), (segments) => {
        const { a, b, now: start } = establishedPair();
        let now = start;
        for (const [segment, dt, { chunk, order }] of segments) {
          now += dt;
          const frame = encodeTcpFrame(
            { srcMac: A_MAC, dstMac: B_MAC, srcIp: A_IP, dstIp: B_IP, ttl: 64, identification: order.length },
            segment as TcpSegment,
          );
          const fragments = chunk === 0 ? [frame] : fragmentFrame(frame, chunk);
          const sent = [...order.map((i) => fragments[i % fragments.length]!), ...fragments];
          for (const fragment of sent) b.receiveFrame(fragment, now);
          b.advanceTime(now);
          for (let f = b.pollFrame(); f; f = b.pollFrame()) a.receiveFrame(f, now);
          for (let e = b.pollEvent(); e; e = b.pollEvent());
          for (let f = a.pollFrame(); f; f = a.pollFrame());
          for (let e = a.pollEvent(); e; e = a.pollEvent());
        }
        // Time still runs every connection to an end: nothing is wedged with a deadline in the past.
        const deadline = b.nextDeadline();
        if (deadline !== undefined) expect(deadline).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on ICMP errors of any type, code and MTU quoting anything near its segments, and an established connection stays so', () => {
    const icmpError = fc.record({
      type: fc.constantFrom(3, 4, 5, 11, 12, 0, 8, 99),
      code: fc.integer({ min: 0, max: 15 }),
      mtu: fc.integer({ min: 0, max: 0xffff }),
      seqOffset: fc.integer({ min: -3000, max: 3000 }),
      cut: fc.integer({ min: 0, max: 28 }),
      flip: fc.option(fc.tuple(fc.integer({ min: 0, max: 27 }), fc.integer({ min: 1, max: 255 }))),
    });
    fc.assert(
      fc.property(fc.array(icmpError, { minLength: 1, maxLength: 12 }), (errors) => {
        const { b, now } = establishedPair();
        const socket = [...Array(8).keys()].map((i) => i + 1).find((id) => b.socketState(id) === 'ESTABLISHED');
        if (socket === undefined) throw new Error('no established connection');
        // Data of B's in flight (never delivered): what the errors may quote.
        b.send(socket, new Uint8Array(4000).fill(1), now);
        const inFlight = b.pollFrame();
        if (inFlight === undefined) throw new Error('nothing sent');
        const sent = new Uint8Array(inFlight);
        for (let f = b.pollFrame(); f; f = b.pollFrame());
        const firstSeq = readU32(sent, 14 + 20 + 4);
        for (const error of errors) {
          const quote = sent.slice(14, 14 + 28);
          writeU32(quote, 20 + 4, (firstSeq + error.seqOffset) >>> 0);
          if (error.flip) quote[error.flip[0]]! ^= error.flip[1];
          const body = new Uint8Array(4 + 28 - error.cut);
          body[2] = error.mtu >> 8;
          body[3] = error.mtu & 0xff;
          body.set(quote.subarray(0, 28 - error.cut), 4);
          const frame = encodeIcmpFrame(
            { srcMac: A_MAC, dstMac: B_MAC, srcIp: A_IP, dstIp: B_IP, ttl: 64, identification: 9 },
            { kind: 'other', type: error.type, code: error.code, body },
          );
          b.receiveFrame(frame, now);
          expect(b.socketState(socket)).toBe('ESTABLISHED');
          // What it sends again at a smaller path MTU still fits the link.
          for (let f = b.pollFrame(); f; f = b.pollFrame()) expect(f.length - 14).toBeLessThanOrEqual(1500);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('answers a stray ACK to a closed port with a RST of SEQ=SEG.ACK (§3.10.7.1)', () => {
    const { b, now } = establishedPair();
    const stray: TcpSegment = {
      srcPort: 5555,
      dstPort: 9,
      seq: 1,
      ack: 0xdeadbeef,
      flags: TcpFlag.ACK,
      window: 100,
      urgent: 0,
      options: {},
      payload: new Uint8Array(0),
    };
    b.receiveFrame(
      encodeTcpFrame({ srcMac: A_MAC, dstMac: B_MAC, srcIp: A_IP, dstIp: B_IP, ttl: 64, identification: 1 }, stray),
      now,
    );
    const reply = b.pollFrame();
    expect(reply).toBeDefined();
    expect(b.stats.resetsSent).toBe(1);
    // seq field of the TCP header sits 14 + 20 + 4 bytes in.
    const view = new DataView(reply!.buffer, reply!.byteOffset, reply!.byteLength);
    expect(view.getUint32(38)).toBe(0xdeadbeef);
  });
});
