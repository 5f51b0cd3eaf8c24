import { type StatePath, getShortestPaths } from '@xstate/graph';
import { describe, expect, it } from 'vitest';
import { type AnyTransitionDefinition, transition } from 'xstate';
import { type TcpOptions, type TcpSegment, TcpFlag } from '../wire/tcp-types.js';
import { defaultTcpConfig, type TcpConfig } from './config.js';
import { Connection } from './connection.js';
import { type TcpMachineEvent, type TcpState, TCP_STATES, tcpMachine } from './machine.js';
import { seqAdd } from './seq.js';

/**
 * Model-based coverage of the state machine against the real connection.
 *
 * Paths are generated over `tcpMachine` with @xstate/graph so that every arc of
 * its definition (state, event and guard branch → target) ends some path. Each
 * path is then replayed on a `Connection` driven by a scripted peer, one
 * concrete stimulus per machine event, and the connection must be in the path's
 * state after every step.
 */

type EventType = TcpMachineEvent['type'];
type Snapshot = ReturnType<typeof tcpMachine.transition>;
type Path = StatePath<Snapshot, TcpMachineEvent>;

const EVENT_TYPES: readonly EventType[] = [
  'OPEN_ACTIVE',
  'OPEN_PASSIVE',
  'SEND',
  'CLOSE',
  'ABORT',
  'RCV_SYN',
  'RCV_SYN_ACK',
  'RCV_ACK_OF_SYN',
  'RCV_FIN',
  'RCV_ACK_OF_FIN',
  'RCV_RST',
  'RCV_ICMP_HARD_ERROR',
  'TIMEOUT_2MSL',
  'TIMEOUT_USER',
];
const EVENTS: readonly TcpMachineEvent[] = EVENT_TYPES.map((type) => ({ type }) as TcpMachineEvent);

// ---------------------------------------------------------------- the arcs of the definition

interface Arc {
  readonly definition: AnyTransitionDefinition;
  readonly source: TcpState;
  readonly event: EventType;
  /** The guard's name, or `else` for an unguarded branch after a guarded one. */
  readonly branch: string | undefined;
  readonly target: TcpState;
  readonly name: string;
}

const guardName = (definition: AnyTransitionDefinition): string | undefined => {
  const guard: unknown = definition.guard;
  if (guard === undefined) return undefined;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'object' && guard !== null && 'type' in guard) return String((guard as { type: unknown }).type);
  return 'inline';
};

/** Every transition of every state, read from the machine's definition, not from a list kept here. */
const arcsOfDefinition = (): Arc[] => {
  const arcs: Arc[] = [];
  for (const [source, node] of Object.entries(tcpMachine.root.states)) {
    for (const [event, branches] of Object.entries(node.on)) {
      const guarded = branches.some((definition) => definition.guard !== undefined);
      for (const definition of branches) {
        const target = (definition.target?.[0]?.key ?? source) as TcpState;
        const branch = guardName(definition) ?? (guarded ? 'else' : undefined);
        arcs.push({
          definition,
          source: source as TcpState,
          event: event as EventType,
          branch,
          target,
          name: `${source} --${event}${branch !== undefined ? `[${branch}]` : ''}--> ${target}`,
        });
      }
    }
  }
  return arcs;
};

const ARCS = arcsOfDefinition();
const arcOf = (definition: AnyTransitionDefinition): Arc => {
  const arc = ARCS.find((candidate) => candidate.definition === definition);
  if (arc === undefined) throw new Error(`transition ${JSON.stringify(definition.toJSON())} is not in the definition`);
  return arc;
};

// ---------------------------------------------------------------- paths that cover every arc

interface CoveringPath {
  readonly arc: Arc;
  /** Whether the connection is opened with its foreign socket known (the machine's input). */
  readonly foreignSocketKnown: boolean;
  readonly path: Path;
}

/**
 * For both machine inputs, the shortest path to every distinct snapshot (state and
 * context), each extended by every event that is an arc there. The shortest such
 * path per arc and input is kept, so arcs reachable with the foreign socket known
 * and unknown are replayed both ways.
 */
const coveringPaths = (): CoveringPath[] => {
  const best = new Map<string, CoveringPath>();
  for (const foreignSocketKnown of [true, false]) {
    const paths = getShortestPaths(tcpMachine, { input: { foreignSocketKnown }, events: EVENTS });
    for (const path of paths) {
      for (const event of EVENTS) {
        const taken = tcpMachine.getTransitionData(path.state, event);
        const definition = taken[0];
        if (definition === undefined) continue;
        const arc = arcOf(definition);
        const [next] = transition(tcpMachine, path.state, event);
        const extended: Path = {
          state: next,
          steps: [...path.steps, { event, state: next }],
          weight: path.weight + 1,
        };
        const key = `${foreignSocketKnown}:${arc.name}`;
        const known = best.get(key);
        if (known === undefined || extended.steps.length < known.path.steps.length) {
          best.set(key, { arc, foreignSocketKnown, path: extended });
        }
      }
    }
  }
  return [...best.values()];
};

const PATHS = coveringPaths();

// ---------------------------------------------------------------- a connection and a scripted peer

const LOCAL_PORT = 40_000;
const PEER_PORT = 4_000;
const OUR_ISS = 0xffff_fc00; // close to the wrap, so sequence arithmetic is exercised
const PEER_ISS = 777_000;
const EMPTY = new Uint8Array(0);
/**
 * Few retransmissions keep TIMEOUT_USER short. FIN-WAIT-2 has nothing to retransmit: its
 * TIMEOUT_USER arc is the FIN-WAIT-2 timeout, off by default and switched on here.
 */
const CONFIG: TcpConfig = {
  ...defaultTcpConfig,
  msl: 1_000,
  maxRetransmissions: 4,
  maxSynRetransmissions: 3,
  finWait2Timeout: 10_000,
};

/**
 * The far end, scripted: it keeps its own sequence numbers and learns ours from
 * what the connection sends. It never answers on its own.
 */
class ScriptedPeer {
  now = 0;
  /** Our ISS, once our SYN was seen. */
  ourIss: number | undefined;
  /** The end of everything the connection has sent (SND.MAX as the peer sees it). */
  ourEnd: number | undefined;
  /** Sequence number of our FIN, once sent. */
  ourFin: number | undefined;
  /** The peer's next sequence number; `PEER_ISS` is used by its SYN. */
  peerNext = PEER_ISS;
  readonly sent: TcpSegment[] = [];

  constructor(readonly connection: Connection) {}

  /** Takes everything the connection has to send. */
  drain(): void {
    for (let i = 0; i < 10_000; i++) {
      const segment = this.connection.pollSegment(this.now);
      if (segment === undefined) return;
      this.sent.push(segment);
      if (segment.flags & TcpFlag.RST) continue;
      if (segment.flags & TcpFlag.SYN) this.ourIss = segment.seq;
      let end = seqAdd(segment.seq, segment.payload.length + (segment.flags & TcpFlag.SYN ? 1 : 0));
      if (segment.flags & TcpFlag.FIN) {
        this.ourFin = end;
        end = seqAdd(end, 1);
      }
      if (this.ourEnd === undefined || ((end - this.ourEnd) | 0) > 0) this.ourEnd = end;
    }
    throw new Error('the connection kept producing segments');
  }

  deliver(flags: number, seq: number, ack: number, options: TcpOptions = {}): void {
    this.connection.handleSegment(
      { srcPort: PEER_PORT, dstPort: LOCAL_PORT, seq, ack, flags, window: 65_535, urgent: 0, options, payload: EMPTY },
      this.now,
    );
  }

  /** What the peer acknowledges: everything we sent, except our FIN unless `includingFin`. */
  ackOfOurs(includingFin: boolean): number {
    if (this.ourEnd === undefined) throw new Error('the connection has sent nothing to acknowledge');
    if (this.ourFin !== undefined && !includingFin) return this.ourFin;
    return this.ourEnd;
  }

  requireOurIss(): number {
    if (this.ourIss === undefined) throw new Error('the connection has not sent its SYN');
    return this.ourIss;
  }
}

/** Runs timers at their deadlines until `done` or no timer is left; returns whether `done` was reached. */
const runTimersUntil = (peer: ScriptedPeer, done: () => boolean): boolean => {
  const connection = peer.connection;
  for (let i = 0; i < 200 && !done(); i++) {
    const deadline = connection.nextDeadline();
    if (deadline === undefined) return false;
    peer.now = Math.max(peer.now, deadline);
    connection.handleTimeout(peer.now);
    peer.drain();
  }
  return done();
};

/** The concrete stimulus for one machine event, in the connection's current state. */
const stimulate = (peer: ScriptedPeer, event: EventType): void => {
  const connection = peer.connection;
  peer.now += 1;
  const now = peer.now;
  const state = connection.state;
  switch (event) {
    case 'OPEN_ACTIVE':
      connection.open('active', now);
      break;
    case 'OPEN_PASSIVE':
      connection.open('passive', now);
      break;
    case 'SEND':
      connection.send(new Uint8Array(100).fill(1), now);
      break;
    case 'CLOSE':
      connection.close(now);
      break;
    case 'ABORT':
      connection.abort(now);
      break;
    case 'RCV_SYN':
      peer.deliver(TcpFlag.SYN, PEER_ISS, 0, { mss: 1460 });
      peer.peerNext = seqAdd(PEER_ISS, 1);
      break;
    case 'RCV_SYN_ACK':
      peer.deliver(TcpFlag.SYN | TcpFlag.ACK, PEER_ISS, seqAdd(peer.requireOurIss(), 1), { mss: 1460 });
      peer.peerNext = seqAdd(PEER_ISS, 1);
      break;
    case 'RCV_ACK_OF_SYN':
      peer.deliver(TcpFlag.ACK, peer.peerNext, seqAdd(peer.requireOurIss(), 1));
      break;
    case 'RCV_FIN': {
      if (state === 'TIME-WAIT') {
        // The peer missed our ACK of its FIN and sends the FIN again (§3.10.7.4, eighth step).
        peer.deliver(TcpFlag.FIN | TcpFlag.ACK, seqAdd(peer.peerNext, -1), peer.ackOfOurs(true));
        break;
      }
      // In FIN-WAIT-1 the FIN must not acknowledge ours: that is the simultaneous close of Figure 13.
      const includingFin = state !== 'FIN-WAIT-1';
      peer.deliver(TcpFlag.FIN | TcpFlag.ACK, peer.peerNext, peer.ackOfOurs(includingFin));
      peer.peerNext = seqAdd(peer.peerNext, 1);
      break;
    }
    case 'RCV_ACK_OF_FIN':
      if (peer.ourFin === undefined) throw new Error(`no FIN was sent in ${state} to acknowledge`);
      peer.deliver(TcpFlag.ACK, peer.peerNext, seqAdd(peer.ourFin, 1));
      break;
    case 'RCV_RST':
      if (state === 'SYN-SENT') {
        // §3.10.7.3: a reset in SYN-SENT counts only with an acceptable ACK.
        peer.deliver(TcpFlag.RST | TcpFlag.ACK, 0, seqAdd(peer.requireOurIss(), 1));
      } else {
        // §3.10.7.4 with RFC 5961 §3.2: exactly at RCV.NXT.
        peer.deliver(TcpFlag.RST, peer.peerNext, 0);
      }
      break;
    case 'RCV_ICMP_HARD_ERROR':
      // Port unreachable quoting our SYN or SYN,ACK: its sequence number is the ISS (RFC 5927 §4.1).
      if (!connection.handleIcmpError({ kind: 'hard', seq: peer.requireOurIss() }, now)) throw new Error(`the ICMP error was ignored in ${state}`);
      break;
    case 'TIMEOUT_2MSL': {
      const reached = runTimersUntil(peer, () => connection.state !== 'TIME-WAIT');
      if (!reached) throw new Error('TIME-WAIT did not end on a timer');
      break;
    }
    case 'TIMEOUT_USER': {
      // Retransmissions need something outstanding: queue data where the user may still send.
      // (In FIN-WAIT-2 the FIN-WAIT-2 timeout is what runs out.)
      if ((state === 'ESTABLISHED' || state === 'CLOSE-WAIT') && connection.flightSize === 0) {
        connection.send(new Uint8Array(100).fill(2), now);
      }
      peer.drain();
      const reached = runTimersUntil(peer, () => connection.state !== state);
      if (!reached) throw new Error(`no timer ran out in ${state}: the user timeout can never fire there`);
      break;
    }
  }
  peer.drain();
};

/** Replays a path on a fresh connection; returns the states it was in after each step. */
const replay = (covering: CoveringPath): { states: TcpState[]; peer: ScriptedPeer } => {
  const connection = new Connection({
    localPort: LOCAL_PORT,
    remotePort: covering.foreignSocketKnown ? PEER_PORT : 0,
    iss: OUR_ISS,
    config: CONFIG,
  });
  const peer = new ScriptedPeer(connection);
  const states: TcpState[] = [];
  for (const step of stepsOf(covering)) {
    stimulate(peer, step.event.type);
    states.push(connection.state);
  }
  return { states, peer };
};

/** The steps of a path without the machine's own initial step. */
const stepsOf = (covering: CoveringPath) => covering.path.steps.filter((step) => !step.event.type.startsWith('xstate.'));

const describePath = (covering: CoveringPath): string =>
  `${covering.foreignSocketKnown ? 'known' : 'unknown'} foreign socket: CLOSED` +
  stepsOf(covering).map((step) => ` --${step.event.type}--> ${String(step.state.value)}`).join('');

// ---------------------------------------------------------------- tests

describe('model-based coverage of the TCP state machine', () => {
  it('reads every arc of the definition, guard branches included', () => {
    // A sanity floor, so that a definition read as empty cannot pass the coverage test below.
    expect(ARCS.length).toBeGreaterThanOrEqual(45);
    expect(ARCS.map((arc) => arc.name)).toContain('SYN-RECEIVED --RCV_RST[cameFromListen]--> LISTEN');
    expect(ARCS.map((arc) => arc.name)).toContain('SYN-RECEIVED --RCV_RST[else]--> CLOSED');
    expect(ARCS.map((arc) => arc.name)).toContain('LISTEN --SEND[foreignSocketKnown]--> SYN-SENT');
  });

  it('has generated paths that cover every state and every arc', () => {
    const covered = new Set(PATHS.map((covering) => covering.arc.name));
    const missing = ARCS.filter((arc) => !covered.has(arc.name)).map((arc) => arc.name);
    expect(missing).toEqual([]);
    const states = new Set<string>(['CLOSED']);
    for (const covering of PATHS) for (const step of covering.path.steps) states.add(String(step.state.value));
    expect([...states].sort()).toEqual([...TCP_STATES].sort());
  });

  it('follows each path with the real connection, in the path state after every step', () => {
    const failures: string[] = [];
    for (const covering of PATHS) {
      const expected = stepsOf(covering).map((step) => String(step.state.value));
      try {
        const { states } = replay(covering);
        if (states.join() !== expected.join()) {
          failures.push(`${covering.arc.name}\n  path:       ${describePath(covering)}\n  connection: ${states.join(' → ')}`);
        }
      } catch (error) {
        failures.push(`${covering.arc.name}\n  path: ${describePath(covering)}\n  ${String(error)}`);
      }
    }
    expect(failures, failures.join('\n')).toEqual([]);
  });

  it('keeps the connection in LISTEN on SEND while the foreign socket is unknown (the guard false)', () => {
    const connection = new Connection({ localPort: LOCAL_PORT, remotePort: 0, iss: OUR_ISS, config: CONFIG });
    connection.open('passive', 0);
    expect(connection.send(new Uint8Array(10), 1)).toBe(0);
    expect(connection.state).toBe('LISTEN');
    expect(connection.pollSegment(1)).toBeUndefined();
    // …and a known one turns the same SEND into an active open with a SYN (§3.10.2).
    const known = new Connection({ localPort: LOCAL_PORT, remotePort: PEER_PORT, iss: OUR_ISS, config: CONFIG });
    known.open('passive', 0);
    known.send(new Uint8Array(10), 1);
    expect(known.state).toBe('SYN-SENT');
    expect(known.pollSegment(1)?.flags).toBe(TcpFlag.SYN);
  });

  it('restarts the 2 MSL wait when the peer retransmits its FIN in TIME-WAIT (§3.10.7.4, eighth step)', () => {
    const toTimeWait = PATHS.find((covering) => covering.arc.name === 'TIME-WAIT --RCV_FIN--> TIME-WAIT')!;
    expect(toTimeWait).toBeDefined();
    const { peer } = replay({ ...toTimeWait, path: { ...toTimeWait.path, steps: stepsOf(toTimeWait).slice(0, -1) } });
    expect(peer.connection.state).toBe('TIME-WAIT');
    const firstDeadline = peer.connection.nextDeadline()!;
    peer.now += 500;
    const ackCount = peer.sent.length;
    stimulate(peer, 'RCV_FIN');
    // The FIN is acknowledged again, and the wait runs 2 MSL from now.
    expect(peer.sent.length).toBe(ackCount + 1);
    expect(peer.sent.at(-1)!.ack).toBe(peer.peerNext);
    expect(peer.connection.nextDeadline()).toBe(peer.now + 2 * CONFIG.msl);
    expect(peer.connection.nextDeadline()).toBeGreaterThan(firstDeadline);
  });
});
