import { describe, expect, it } from 'vitest';
import type { MockSocket } from '../socket.js';
import { IP_B, createPair, describeRun, firstDifference, patternBytes } from './testing.js';

/**
 * Goodput of one bulk transfer per cell, over loss rates × receive buffers on a
 * 100 Mbit/s path with 10 ms of delay each way. The table is a snapshot: a change
 * that slows a cell down, or stalls it, shows up in review.
 */

const LOSS_PERCENT = [0, 1, 5, 10, 20, 30] as const;
const RECEIVE_BUFFERS = [
  { label: '1 KiB', bytes: 1024 },
  { label: '16 KiB', bytes: 16 * 1024 },
  { label: '256 KiB', bytes: 256 * 1024 },
  { label: '1 MiB', bytes: 1024 * 1024 },
] as const;

const TRANSFER_BYTES = 1_000_000;
const PATH = {
  delay: 10,
  /** 100 Mbit/s in bytes per virtual ms. */
  bandwidth: 12_500,
  /** About one bandwidth-delay product (12 500 B/ms × 20 ms). */
  queueLimit: 250_000,
  /** The link drops anything larger, so a segment sized past the MTU shows as a failure. */
  mtu: 1500,
} as const;
/**
 * A stall: no new byte at the receiver for this long while nothing at all crosses the
 * link (a wedged connection: every timer off). The sender's backoff is capped at
 * maxRto = 60 s, so a live connection puts something on the link at least that often.
 */
const SILENT_STALL_AFTER = 90_000;
/**
 * Also a stall: no new byte for this long whatever crosses the link (a livelock). At
 * 30% loss, runs of lost retransmissions and lost ACKs legitimately back off for
 * minutes (RFC 6298 §5.5), so this bound is well above one maxRto.
 */
const BUSY_STALL_AFTER = 10 * 60_000;
const VIRTUAL_TIME_LIMIT = 2 * 60 * 60_000;
const PORT = 5001;

interface CellResult {
  readonly lossPercent: number;
  readonly buffer: string;
  readonly completed: boolean;
  readonly received: number;
  readonly virtualMs: number;
  readonly problem: string | undefined;
}

/** Two significant digits, so tiny changes in timing do not churn the snapshot. */
const twoSignificant = (value: number): string => String(Number(value.toPrecision(2)));

const runCell = (lossPercent: number, bufferLabel: string, receiveBufferSize: number, seed: number): CellResult => {
  const { sim, a, b } = createPair({
    seed,
    faults: { ...PATH, loss: lossPercent / 100 },
    mtu: PATH.mtu,
    tcp: { receiveBufferSize },
    knownNeighbours: true,
    traceLimit: 200,
  });
  const payload = patternBytes(TRANSFER_BYTES, seed);
  let receiver: MockSocket | undefined;
  b.listen(PORT, (socket) => (receiver = socket));
  const sender = a.connect(IP_B, PORT);
  sender.write(payload);
  sender.end();

  let lastCount = 0;
  let lastProgressAt = sim.now;
  let framesSeen = sim.tracer.total;
  let lastFrameAt = sim.now;
  let problem: string | undefined;
  const startedAt = sim.now;
  const done = () => receiver !== undefined && receiver.bytesReceived === TRANSFER_BYTES && receiver.peerClosed;
  // Watch progress from the receiver's side; give up on a stall rather than waiting for the time limit.
  const watch = () => {
    const count = receiver?.bytesReceived ?? 0;
    if (count !== lastCount) {
      lastCount = count;
      lastProgressAt = sim.now;
    }
    if (sim.tracer.total !== framesSeen) {
      framesSeen = sim.tracer.total;
      lastFrameAt = sim.now;
    }
    const sinceProgress = sim.now - lastProgressAt;
    const wedged = sinceProgress > SILENT_STALL_AFTER && sim.now - lastFrameAt > SILENT_STALL_AFTER;
    return done() || wedged || sinceProgress > BUSY_STALL_AFTER;
  };
  const result = sim.run({ until: watch, maxTime: VIRTUAL_TIME_LIMIT, maxSteps: 5_000_000 });
  const completed = done();
  if (!completed) {
    const silence = sim.now - lastProgressAt;
    problem = `stalled at ${lastCount} of ${TRANSFER_BYTES} bytes (${result.reason}, no progress for ${silence} ms)\n${describeRun(sim, 30)}`;
  } else if (firstDifference(receiver!.received(), payload) >= 0) {
    problem = `bytes differ from offset ${firstDifference(receiver!.received(), payload)}`;
  } else if (sender.error !== undefined || receiver!.error !== undefined) {
    problem = `error ${sender.error ?? receiver!.error}`;
  } else if (sim.stats().mtu > 0) {
    problem = `${sim.stats().mtu} frames above the ${PATH.mtu}-byte MTU`;
  }
  return {
    lossPercent,
    buffer: bufferLabel,
    completed,
    received: lastCount,
    virtualMs: sim.now - startedAt,
    problem,
  };
};

const formatTable = (cells: readonly CellResult[]): string => {
  const header = ['loss \\ rcvbuf', ...RECEIVE_BUFFERS.map((buffer) => buffer.label)];
  const rows = LOSS_PERCENT.map((loss) => [
    `${loss}%`,
    ...RECEIVE_BUFFERS.map((buffer) => {
      const cell = cells.find((c) => c.lossPercent === loss && c.buffer === buffer.label)!;
      if (!cell.completed) return `STALL ${twoSignificant(cell.received / 1000)} KB`;
      if (cell.problem !== undefined) return 'WRONG';
      return `${twoSignificant(TRANSFER_BYTES / cell.virtualMs)} KB/s`; // bytes per ms = KB (1000 B) per s
    }),
  ]);
  const widths = header.map((_, column) => Math.max(...[header, ...rows].map((row) => row[column]!.length)));
  const line = (row: readonly string[]) => row.map((cell, column) => cell.padStart(widths[column]!)).join('  ');
  return [
    `goodput of ${TRANSFER_BYTES / 1e6} MB, in KB/s of virtual time (2 significant digits)`,
    `path: ${PATH.bandwidth * 8 / 1000} Mbit/s, ${PATH.delay} ms each way, queue ${PATH.queueLimit / 1000} KB, MTU 1500`,
    line(header),
    ...rows.map(line),
    '',
  ].join('\n');
};

describe('throughput matrix', () => {
  it('completes every cell without a stall and keeps goodput per cell as recorded', async () => {
    const cells: CellResult[] = [];
    LOSS_PERCENT.forEach((loss, row) =>
      RECEIVE_BUFFERS.forEach((buffer, column) => {
        // A fixed seed per cell: the table is the same on every run.
        cells.push(runCell(loss, buffer.label, buffer.bytes, 1000 + row * 10 + column));
      }),
    );
    const table = formatTable(cells);
    await expect.soft(table).toMatchFileSnapshot('./throughput-matrix.snap.txt');
    const problems = cells
      .filter((cell) => cell.problem !== undefined)
      .map((cell) => `loss ${cell.lossPercent}%, buffer ${cell.buffer}: ${cell.problem}`);
    expect(problems, `${table}\n${problems.join('\n\n')}`).toEqual([]);
    // Sanity of the measurement itself: a clean path with a large window must beat a lossy one with a tiny window.
    const fastest = cells.find((cell) => cell.lossPercent === 0 && cell.buffer === '1 MiB')!;
    const slowest = cells.find((cell) => cell.lossPercent === 30 && cell.buffer === '1 KiB')!;
    expect(fastest.virtualMs).toBeLessThan(slowest.virtualMs);
  });

  it('rounds goodput to two significant digits', () => {
    expect([12_345, 1_049, 99.4, 9.96, 0.1234, 0].map(twoSignificant)).toEqual(['12000', '1000', '99', '10', '0.12', '0']);
  });
});
