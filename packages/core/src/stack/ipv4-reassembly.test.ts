import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Ipv4Fragment, Ipv4Reassembler, type ReassemblyResult } from './ipv4-reassembly.js';

const datagramOf = (length: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 7 + 3) % 251);

/** The fragment of `payload` covering [start, end). */
const piece = (payload: Uint8Array, start: number, end: number, identification = 1): Ipv4Fragment => ({
  src: 0xc6120001,
  dst: 0xc6120002,
  protocol: 6,
  identification,
  offset: start,
  moreFragments: end < payload.length,
  payload: payload.slice(start, end),
});

const completed = (result: ReassemblyResult): Uint8Array | undefined =>
  result.kind === 'complete' ? result.payload : undefined;

describe('Ipv4Reassembler', () => {
  const payload = datagramOf(100);
  const pieces = [piece(payload, 0, 40), piece(payload, 40, 80), piece(payload, 80, 100)];

  it('reassembles fragments received in order', () => {
    const r = new Ipv4Reassembler();
    expect(r.accept(pieces[0]!, 0)).toEqual({ kind: 'held' });
    expect(r.accept(pieces[1]!, 1)).toEqual({ kind: 'held' });
    const result = r.accept(pieces[2]!, 2);
    expect(result).toMatchObject({ kind: 'complete', protocol: 6 });
    expect(completed(result)).toEqual(payload);
    expect(r.size).toBe(0);
    expect(r.nextDeadline()).toBeUndefined();
  });

  it('reassembles fragments received in reverse order', () => {
    const r = new Ipv4Reassembler();
    expect(r.accept(pieces[2]!, 0).kind).toBe('held');
    expect(r.accept(pieces[1]!, 0).kind).toBe('held');
    expect(completed(r.accept(pieces[0]!, 0))).toEqual(payload);
  });

  it('takes identical duplicates and identical overlaps in its stride', () => {
    const r = new Ipv4Reassembler();
    expect(r.accept(pieces[0]!, 0).kind).toBe('held');
    expect(r.accept(pieces[0]!, 0).kind).toBe('held');
    expect(r.accept(piece(payload, 32, 64), 0).kind).toBe('held');
    expect(r.accept(pieces[2]!, 0).kind).toBe('held');
    expect(completed(r.accept(pieces[1]!, 0))).toEqual(payload);
  });

  it('drops the whole datagram when an overlap carries different bytes', () => {
    const r = new Ipv4Reassembler();
    r.accept(pieces[0]!, 0);
    const forged = piece(payload, 32, 64);
    forged.payload[3] = forged.payload[3]! ^ 0xff;
    expect(r.accept(forged, 0)).toEqual({ kind: 'dropped', reason: 'overlap' });
    expect(r.size).toBe(0);
    // What arrives afterwards starts a new datagram, which the first fragment alone cannot complete.
    expect(r.accept(pieces[1]!, 0).kind).toBe('held');
    expect(r.accept(pieces[2]!, 0).kind).toBe('held');
  });

  it('discards a datagram with a gap exactly at its deadline, counted from the first fragment', () => {
    const r = new Ipv4Reassembler({ timeout: 60_000 });
    r.accept(pieces[0]!, 1_000);
    r.accept(pieces[2]!, 30_000);
    expect(r.nextDeadline()).toBe(61_000);
    expect(r.expire(60_999)).toEqual([]);
    expect(r.size).toBe(1);
    // The pieces carry no header: nothing to quote in a Time Exceeded.
    expect(r.expire(61_000)).toEqual([{ src: 0xc6120001, quote: undefined, replyTo: undefined }]);
    expect(r.size).toBe(0);
    expect(r.nextDeadline()).toBeUndefined();
    // The missing middle, late, does not complete anything.
    expect(r.accept(pieces[1]!, 61_001).kind).toBe('held');
  });

  it('keeps fragment zero\'s header and first 8 bytes of data for a Time Exceeded, and where to send it', () => {
    const header = Uint8Array.from({ length: 20 }, (_, i) => 0x45 + i);
    const r = new Ipv4Reassembler({ timeout: 1_000 });
    r.accept({ ...pieces[2]!, header: new Uint8Array(20), replyTo: 0x99 }, 0);
    r.accept({ ...pieces[0]!, header, replyTo: 0x0200_0000_0001 }, 10);
    const [expired] = r.expire(1_000);
    expect(expired?.quote).toEqual(Uint8Array.from([...header, ...payload.subarray(0, 8)]));
    expect(expired?.replyTo).toBe(0x0200_0000_0001);
  });

  it('quotes nothing when fragment zero never came', () => {
    const r = new Ipv4Reassembler({ timeout: 1_000 });
    r.accept({ ...pieces[1]!, header: new Uint8Array(20), replyTo: 1 }, 0);
    r.accept({ ...pieces[2]!, header: new Uint8Array(20), replyTo: 1 }, 0);
    expect(r.expire(1_000)).toEqual([{ src: 0xc6120001, quote: undefined, replyTo: undefined }]);
  });

  it('drops a datagram whose middle fragment is not a multiple of 8 bytes', () => {
    const r = new Ipv4Reassembler();
    r.accept(pieces[0]!, 0);
    expect(r.accept(piece(payload, 40, 79), 0)).toEqual({ kind: 'dropped', reason: 'misaligned' });
    expect(r.size).toBe(0);
  });

  it('drops a fragment past 65535 bytes and its datagram', () => {
    const r = new Ipv4Reassembler();
    r.accept(pieces[0]!, 0);
    const far: Ipv4Fragment = { ...pieces[0]!, offset: 0x1fff * 8, moreFragments: false, payload: new Uint8Array(40) };
    expect(r.accept(far, 0)).toEqual({ kind: 'dropped', reason: 'too-big' });
    expect(r.size).toBe(0);
    // 65515 bytes of payload behind a 20-byte header is the most there is.
    const edge: Ipv4Fragment = { ...far, offset: 65_512, payload: new Uint8Array(3) };
    expect(r.accept(edge, 0).kind).toBe('held');
    expect(r.accept({ ...edge, payload: new Uint8Array(4) }, 0)).toEqual({ kind: 'dropped', reason: 'too-big' });
  });

  it('drops a datagram whose fragments disagree on its total length', () => {
    const r = new Ipv4Reassembler();
    r.accept(pieces[2]!, 0);
    expect(r.accept(piece(payload, 80, 96, 1), 0)).toMatchObject({ kind: 'held' }); // inside, more fragments
    expect(r.accept({ ...piece(payload, 96, 100), moreFragments: true, payload: new Uint8Array(8) }, 0)).toEqual({
      kind: 'dropped',
      reason: 'inconsistent',
    });
    const s = new Ipv4Reassembler();
    s.accept(pieces[1]!, 0);
    // A last fragment ending at 72 while bytes up to 80 were received.
    expect(s.accept({ ...pieces[2]!, offset: 64, payload: payload.slice(64, 72) }, 0)).toEqual({
      kind: 'dropped',
      reason: 'inconsistent',
    });
  });

  it('keeps datagrams apart by source, destination, protocol and identification', () => {
    const r = new Ipv4Reassembler();
    const other = datagramOf(100).map((b) => b ^ 0x55);
    r.accept(pieces[0]!, 0);
    r.accept(piece(other, 0, 40, 2), 0);
    r.accept({ ...pieces[1]!, protocol: 1 }, 0);
    expect(r.size).toBe(3);
    r.accept(pieces[1]!, 0);
    expect(completed(r.accept(pieces[2]!, 0))).toEqual(payload);
    r.accept(piece(other, 40, 80, 2), 0);
    expect(completed(r.accept(piece(other, 80, 100, 2), 0))).toEqual(other);
  });

  it('refuses a new datagram beyond the bound and lets those in progress finish', () => {
    const r = new Ipv4Reassembler({ maxDatagrams: 3 });
    for (let id = 1; id <= 3; id++) expect(r.accept(piece(payload, 0, 40, id), 0).kind).toBe('held');
    expect(r.accept(piece(payload, 0, 40, 4), 0)).toEqual({ kind: 'dropped', reason: 'too-many' });
    expect(r.size).toBe(3);
    r.accept(piece(payload, 40, 80, 2), 0);
    expect(completed(r.accept(piece(payload, 80, 100, 2), 0))).toEqual(payload);
    expect(r.accept(piece(payload, 0, 40, 4), 0).kind).toBe('held');
  });

  it('reassembles any payload cut into 8-byte-aligned fragments, shuffled and duplicated', () => {
    const cut = fc
      .uint8Array({ minLength: 1, maxLength: 4096 })
      .chain((bytes) =>
        fc.tuple(
          fc.constant(bytes),
          fc.uniqueArray(fc.integer({ min: 1, max: Math.max(1, Math.ceil(bytes.length / 8) - 1) }), { maxLength: 40 }),
        ),
      )
      .map(([bytes, cuts]) => {
        const bounds = [0, ...cuts.map((c) => c * 8).filter((b) => b < bytes.length).sort((x, y) => x - y), bytes.length];
        const fragments: Ipv4Fragment[] = [];
        for (let i = 0; i + 1 < bounds.length; i++) fragments.push(piece(bytes, bounds[i]!, bounds[i + 1]!, 9));
        return { bytes, fragments };
      })
      .chain(({ bytes, fragments }) =>
        fc.tuple(
          fc.constant(bytes),
          fc.shuffledSubarray(fragments, { minLength: fragments.length, maxLength: fragments.length }),
          fc.array(fc.nat(fragments.length - 1), { maxLength: 10 }),
        ),
      )
      .chain(([bytes, shuffled, duplicates]) => {
        const withDuplicates = [...shuffled, ...duplicates.map((i) => shuffled[i]!)];
        return fc.tuple(fc.constant(bytes), fc.shuffledSubarray(withDuplicates, { minLength: withDuplicates.length }));
      });
    fc.assert(
      fc.property(cut, ([bytes, fragments]) => {
        const r = new Ipv4Reassembler();
        const results = fragments.map((fragment) => r.accept(fragment, 0));
        const complete = results.filter((result) => result.kind === 'complete');
        expect(results.every((result) => result.kind !== 'dropped')).toBe(true);
        // Late duplicates after completion start a datagram of their own: only the first completion counts.
        expect(complete.length).toBeGreaterThanOrEqual(1);
        expect(completed(complete[0]!)).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });
});
