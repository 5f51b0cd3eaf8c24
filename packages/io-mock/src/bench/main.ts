import { benchMachineEvents } from './machine-events.js';
import { benchReceivePath } from './receive-path.js';
import { benchTransfer } from './transfer.js';

const fmt = (n: number, digits = 1) => n.toLocaleString('en-US', { maximumFractionDigits: digits });

const machine = benchMachineEvents(1000);
console.log(
  `(a) machine events: ${fmt(machine.actorEventsPerSecond, 0)}/s through a live actor (what a connection uses), ${fmt(machine.pureEventsPerSecond, 0)}/s through the pure transition()`,
);

benchTransfer({ bytes: 8e6 }); // warm-up
const clean = benchTransfer({ bytes: 64e6 });
console.log(
  `(b) io-mock, MTU 1500, no faults: ${fmt(clean.wallMBps)} MB/s of payload (64 MB in ${fmt(clean.wallMs, 0)} ms wall), ${clean.segmentsSent} segments`,
);
const lossy = benchTransfer({ bytes: 16e6, faults: { loss: 0.01, delay: 1 } });
console.log(
  `(c) io-mock, MTU 1500, 1% loss, 1 ms delay: ${fmt(lossy.wallMBps)} MB/s wall, ${fmt(lossy.virtualMBps)} MB/s virtual, ${lossy.retransmissions} retransmissions`,
);
const segmentsPerSecond = clean.segmentsSent / (clean.wallMs / 1000);
console.log(
  `ratios: (c)/(b) wall ${fmt(lossy.wallMBps / clean.wallMBps, 2)}; the data path sends ${fmt(segmentsPerSecond, 0)} segments/s, ` +
    `${fmt(segmentsPerSecond / machine.actorEventsPerSecond, 2)}× the machine's event rate and ${fmt(segmentsPerSecond / machine.pureEventsPerSecond, 1)}× the pure transition()'s`,
);

// Issue: loss recovery quality. 20 ms RTT, 1% loss each way, NewReno and CUBIC, beside the Mathis et al. model
// (goodput ≈ MSS/RTT · 1.22/√p), which describes a Reno sender in congestion avoidance. Without a link rate
// each window arrives at one instant, and the receiver answers it with one ACK per eight segments.
const rttMs = 20;
const mss = 1448; // 1460 less the timestamps option
const mathisMBps = ((mss / (rttMs / 1000)) * (1.22 / Math.sqrt(0.01))) / 1e6;
for (const congestion of ['newreno', 'cubic'] as const) {
  const r = benchTransfer({ bytes: 8e6, faults: { loss: 0.01, delay: rttMs / 2 }, congestion, seed: 7 });
  console.log(
    `(d) io-mock, ${rttMs} ms RTT, 1% loss, ${congestion}: ${fmt(r.virtualMBps, 2)} MB/s virtual vs Mathis ${fmt(mathisMBps, 2)} MB/s (ratio ${fmt(r.virtualMBps / mathisMBps, 2)}); ${r.fastRetransmits} fast retransmits, ${r.timeouts} timeouts`,
  );
}

// The receive path alone: a receiver's recorded calls replayed into fresh hosts. Without a link rate the
// whole window arrives at once (one burst, few ACKs); at 1 Gbit/s frames arrive one by one, as on a real
// link, and every second one is acknowledged.
// With receive coalescing the device hands the host each burst's runs merged, as the packet ring does.
for (const [label, faults, receiveCoalescing] of [
  ['window-sized bursts', undefined, false],
  ['window-sized bursts, receive coalescing', undefined, true],
  ['1 Gbit/s, frame by frame', { bandwidth: 125_000, delay: 0.05 }, false],
] as const) {
  const receive = benchReceivePath({ bytes: 20e6, receiveCoalescing, ...(faults ? { faults } : {}) });
  console.log(
    `(e) receive path, MTU 1500, ${label}: ${fmt(receive.nsPerFrame, 0)} ns of CPU per frame received ` +
      `(receiveFrame, timers, polls, consume, release; handing the frame over, ${fmt(receive.stagingNsPerFrame, 0)} ns, not counted), ${fmt(receive.MBps)} MB/s; ` +
      `a 20 MB transfer's receiver, ${receive.framesReceived} frames, ${receive.framesSent} ACKs, median of ${receive.replays} replays`,
  );
}
