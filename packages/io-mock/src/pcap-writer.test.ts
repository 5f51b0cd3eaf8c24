import { describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET, PCAP_MAGIC_MICROSECONDS, decodePcap, encodePcap } from './pcap-writer.js';
import { Simulation } from './simulation.js';
import { EchoHost, ScriptedHost, frameNumber, numberedFrame } from './testing/fake-hosts.js';

const MAC_A = 0x02_00_00_00_00_01;
const MAC_B = 0x02_00_00_00_00_02;

describe('encodePcap', () => {
  it('writes the classic global header and one record header per frame', () => {
    const frames = [numberedFrame(MAC_B, MAC_A, 1, 60), numberedFrame(MAC_A, MAC_B, 2, 100)];
    const bytes = encodePcap([
      { time: 0, frame: frames[0]! },
      { time: 1234.5678, frame: frames[1]! },
    ]);
    const view = new DataView(bytes.buffer);
    expect(view.getUint32(0, true)).toBe(0xa1b2c3d4);
    expect([view.getUint16(4, true), view.getUint16(6, true)]).toEqual([2, 4]);
    expect(view.getUint32(16, true)).toBe(65535);
    expect(view.getUint32(20, true)).toBe(1);
    // First record: ts 0.000000, 60 bytes captured of 60.
    expect([0, 4, 8, 12].map((o) => view.getUint32(24 + o, true))).toEqual([0, 0, 60, 60]);
    expect(bytes.subarray(40, 100)).toEqual(frames[0]);
    // Second record: 1.234568 s (rounded to the microsecond).
    expect([0, 4, 8, 12].map((o) => view.getUint32(100 + o, true))).toEqual([1, 234568, 100, 100]);
    expect(bytes.subarray(116)).toEqual(frames[1]);
    expect(bytes.length).toBe(24 + 16 + 60 + 16 + 100);
  });

  it('cuts frames at the snap length but keeps their original length', () => {
    const frame = numberedFrame(MAC_B, MAC_A, 1, 200);
    const file = decodePcap(encodePcap([{ time: 5, frame }], { snapLength: 64 }));
    expect(file.snapLength).toBe(64);
    expect(file.records[0]!.frame).toEqual(frame.subarray(0, 64));
    expect(file.records[0]!.originalLength).toBe(200);
  });

  it('round-trips nanosecond timestamps', () => {
    const file = decodePcap(encodePcap([{ time: 0.0012, frame: numberedFrame(MAC_B, MAC_A, 1) }], { resolution: 'nano' }));
    expect(file.resolution).toBe('nano');
    expect(file.records[0]!.time).toBeCloseTo(0.0012, 9);
  });
});

describe('Simulation.pcap', () => {
  it('captures delivered frames at their arrival times, in order', () => {
    const sim = new Simulation({ seed: 1, faults: { delay: 2.5 } });
    const script = Array.from({ length: 3 }, (_, i) => ({ at: i * 10, frame: numberedFrame(MAC_B, MAC_A, i) }));
    const client = sim.addHost(new ScriptedHost(MAC_A, script), MAC_A);
    sim.addHost(new EchoHost(MAC_B), MAC_B);
    sim.run({ maxTime: 100 });

    const file = decodePcap(sim.pcap());
    expect(file.linkType).toBe(LINKTYPE_ETHERNET);
    expect(new DataView(sim.pcap().buffer).getUint32(0, true)).toBe(PCAP_MAGIC_MICROSECONDS);
    expect(file.records.map((r) => r.time)).toEqual([2.5, 5, 12.5, 15, 22.5, 25]);
    expect(file.records.map((r) => frameNumber(r.frame))).toEqual([0, 0, 1, 1, 2, 2]);

    // Seen from the client: its requests when sent, the echoes when received.
    const atClient = decodePcap(sim.pcap({ host: client }));
    expect(atClient.records.map((r) => r.time)).toEqual([0, 5, 10, 15, 20, 25]);
  });

  it('shows the sender one copy of a broadcast or duplicated frame, as it sent it', () => {
    const sim = new Simulation({ seed: 1, faults: { duplicate: 1, corrupt: 1 } });
    const frame = numberedFrame(0xffff_ffff_ffff, MAC_A, 4);
    const sender = sim.addHost(new ScriptedHost(MAC_A, [{ at: 1, frame }]), MAC_A);
    sim.addHost(new ScriptedHost(MAC_B), MAC_B);
    sim.addHost(new ScriptedHost(0x02_00_00_00_00_03), 0x02_00_00_00_00_03);
    sim.run({ maxTime: 10 });
    const seen = decodePcap(sim.pcap({ host: sender })).records;
    expect(seen.map((r) => r.frame)).toEqual([frame]);
    // Two recipients, each getting a corrupted copy twice.
    const delivered = decodePcap(sim.pcap()).records;
    expect(delivered).toHaveLength(4);
    for (const record of delivered) expect(record.frame).not.toEqual(frame);
  });

  it('leaves lost frames out of the delivered capture but keeps them in the sender view', () => {
    const sim = new Simulation({ seed: 1, faults: { loss: 1 } });
    const sender = sim.addHost(new ScriptedHost(MAC_A, [{ at: 1, frame: numberedFrame(MAC_B, MAC_A, 1) }]), MAC_A);
    sim.addHost(new ScriptedHost(MAC_B), MAC_B);
    sim.run({ maxTime: 10 });
    expect(decodePcap(sim.pcap()).records).toHaveLength(0);
    expect(decodePcap(sim.pcap({ host: sender })).records.map((r) => r.time)).toEqual([1]);
  });
});
