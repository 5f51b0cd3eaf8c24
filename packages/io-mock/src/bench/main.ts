import { benchMachineEvents } from './machine-events.js';
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
console.log(`ratio (c)/(b) wall: ${fmt(lossy.wallMBps / clean.wallMBps, 2)}; (b) per machine event budget: ${fmt(clean.wallMBps * 1e6 / 1460 / machine.actorEventsPerSecond, 1)} segments per XState transition time`);
