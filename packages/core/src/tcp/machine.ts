import { assign, setup } from 'xstate';

/**
 * The TCP connection state machine of RFC 9293 §3.3.2 (Figure 5), as XState.
 *
 * This machine is the single source of truth for which state a connection is
 * in and which arcs are legal. It does no arithmetic on sequence numbers: the
 * segment-arrival rules of §3.10.7 (in connection.ts) decide which arc an
 * incoming segment represents ("rcv SYN", "rcv ACK of FIN", ...) and send that
 * event here; the machine answers with the next state and the arc's actions
 * ("snd SYN,ACK", "delete TCB", ...), which the connection then carries out.
 * The same definition serves XState's pure `transition()`, its inspector and
 * `@xstate/graph`.
 * Bulk data never passes through here: only the handful of control events a
 * connection has in its whole life.
 */

export const TCP_STATES = [
  'CLOSED',
  'LISTEN',
  'SYN-SENT',
  'SYN-RECEIVED',
  'ESTABLISHED',
  'FIN-WAIT-1',
  'FIN-WAIT-2',
  'CLOSE-WAIT',
  'CLOSING',
  'LAST-ACK',
  'TIME-WAIT',
] as const;

export type TcpState = (typeof TCP_STATES)[number];

/** The arcs of Figure 5, plus the resets, aborts and timeouts of §3.10. */
export type TcpMachineEvent =
  // User calls (§3.10.1–§3.10.5)
  | { type: 'OPEN_ACTIVE' }
  | { type: 'OPEN_PASSIVE' }
  | { type: 'SEND' }
  | { type: 'CLOSE' }
  | { type: 'ABORT' }
  // Segment arrivals, as classified by §3.10.7
  | { type: 'RCV_SYN' }
  | { type: 'RCV_SYN_ACK' }
  | { type: 'RCV_ACK_OF_SYN' }
  | { type: 'RCV_FIN' }
  | { type: 'RCV_ACK_OF_FIN' }
  | { type: 'RCV_RST' }
  // An ICMP hard error about our SYN or SYN,ACK (§3.9.2.2); synchronized states take every ICMP error as soft
  | { type: 'RCV_ICMP_HARD_ERROR' }
  // Timeouts (§3.10.8)
  | { type: 'TIMEOUT_2MSL' }
  | { type: 'TIMEOUT_USER' };

export interface TcpMachineContext {
  /** The connection came from a passive OPEN: a reset in SYN-RECEIVED returns it to LISTEN (§3.10.7.4). */
  passive: boolean;
  /** The foreign socket is known, so a SEND in LISTEN can turn it into an active open (§3.10.2). */
  foreignSocketKnown: boolean;
}

export interface TcpMachineInput {
  foreignSocketKnown: boolean;
}

/**
 * The actions of the arcs. They are descriptions, not code: the connection
 * collects them as the machine takes an event, then executes them.
 */
export const TCP_MACHINE_ACTIONS = [
  'sendSyn',
  'sendSynAck',
  'sendAck',
  'queueFin',
  'sendRst',
  'deleteTcb',
  'startTimeWait',
  'signalEstablished',
  'signalPeerClosed',
  'signalRefused',
  'signalReset',
  'signalTimedOut',
] as const;

export type TcpMachineAction = (typeof TCP_MACHINE_ACTIONS)[number];

const action = (): void => {
  /* executed by the connection, see connection.ts */
};

export const tcpMachine = setup({
  types: {
    context: {} as TcpMachineContext,
    events: {} as TcpMachineEvent,
    input: {} as TcpMachineInput,
  },
  actions: {
    sendSyn: action,
    sendSynAck: action,
    sendAck: action,
    queueFin: action,
    sendRst: action,
    deleteTcb: action,
    startTimeWait: action,
    signalEstablished: action,
    signalPeerClosed: action,
    signalRefused: action,
    signalReset: action,
    signalTimedOut: action,
  },
  guards: {
    cameFromListen: ({ context }) => context.passive,
    foreignSocketKnown: ({ context }) => context.foreignSocketKnown,
  },
}).createMachine({
  id: 'tcp',
  initial: 'CLOSED',
  context: ({ input }) => ({ passive: false, foreignSocketKnown: input.foreignSocketKnown }),
  states: {
    CLOSED: {
      on: {
        OPEN_PASSIVE: { target: 'LISTEN', actions: assign({ passive: true }) },
        OPEN_ACTIVE: { target: 'SYN-SENT', actions: [assign({ passive: false }), 'sendSyn'] },
      },
    },
    LISTEN: {
      on: {
        RCV_SYN: { target: 'SYN-RECEIVED', actions: 'sendSynAck' },
        SEND: { guard: 'foreignSocketKnown', target: 'SYN-SENT', actions: 'sendSyn' },
        CLOSE: { target: 'CLOSED', actions: 'deleteTcb' },
        ABORT: { target: 'CLOSED', actions: 'deleteTcb' },
      },
    },
    'SYN-SENT': {
      on: {
        RCV_SYN_ACK: { target: 'ESTABLISHED', actions: ['sendAck', 'signalEstablished'] },
        // Simultaneous open (§3.5, Figure 8).
        RCV_SYN: { target: 'SYN-RECEIVED', actions: 'sendSynAck' },
        RCV_RST: { target: 'CLOSED', actions: ['signalRefused', 'deleteTcb'] },
        RCV_ICMP_HARD_ERROR: { target: 'CLOSED', actions: ['signalRefused', 'deleteTcb'] },
        CLOSE: { target: 'CLOSED', actions: 'deleteTcb' },
        ABORT: { target: 'CLOSED', actions: 'deleteTcb' },
        TIMEOUT_USER: { target: 'CLOSED', actions: ['signalTimedOut', 'deleteTcb'] },
      },
    },
    'SYN-RECEIVED': {
      on: {
        RCV_ACK_OF_SYN: { target: 'ESTABLISHED', actions: 'signalEstablished' },
        CLOSE: { target: 'FIN-WAIT-1', actions: 'queueFin' },
        RCV_FIN: { target: 'CLOSE-WAIT', actions: ['sendAck', 'signalPeerClosed'] },
        RCV_RST: [
          { guard: 'cameFromListen', target: 'LISTEN' },
          { target: 'CLOSED', actions: ['signalRefused', 'deleteTcb'] },
        ],
        RCV_ICMP_HARD_ERROR: [
          { guard: 'cameFromListen', target: 'LISTEN' },
          { target: 'CLOSED', actions: ['signalRefused', 'deleteTcb'] },
        ],
        ABORT: { target: 'CLOSED', actions: ['sendRst', 'deleteTcb'] },
        TIMEOUT_USER: { target: 'CLOSED', actions: ['signalTimedOut', 'deleteTcb'] },
      },
    },
    ESTABLISHED: {
      on: {
        CLOSE: { target: 'FIN-WAIT-1', actions: 'queueFin' },
        RCV_FIN: { target: 'CLOSE-WAIT', actions: ['sendAck', 'signalPeerClosed'] },
        RCV_RST: { target: 'CLOSED', actions: ['signalReset', 'deleteTcb'] },
        ABORT: { target: 'CLOSED', actions: ['sendRst', 'deleteTcb'] },
        TIMEOUT_USER: { target: 'CLOSED', actions: ['signalTimedOut', 'deleteTcb'] },
      },
    },
    'FIN-WAIT-1': {
      on: {
        RCV_ACK_OF_FIN: { target: 'FIN-WAIT-2' },
        // Simultaneous close (§3.6, Figure 13).
        RCV_FIN: { target: 'CLOSING', actions: ['sendAck', 'signalPeerClosed'] },
        RCV_RST: { target: 'CLOSED', actions: ['signalReset', 'deleteTcb'] },
        ABORT: { target: 'CLOSED', actions: ['sendRst', 'deleteTcb'] },
        TIMEOUT_USER: { target: 'CLOSED', actions: ['signalTimedOut', 'deleteTcb'] },
      },
    },
    'FIN-WAIT-2': {
      on: {
        RCV_FIN: { target: 'TIME-WAIT', actions: ['sendAck', 'signalPeerClosed', 'startTimeWait'] },
        RCV_RST: { target: 'CLOSED', actions: ['signalReset', 'deleteTcb'] },
        ABORT: { target: 'CLOSED', actions: ['sendRst', 'deleteTcb'] },
        TIMEOUT_USER: { target: 'CLOSED', actions: ['signalTimedOut', 'deleteTcb'] },
      },
    },
    'CLOSE-WAIT': {
      on: {
        CLOSE: { target: 'LAST-ACK', actions: 'queueFin' },
        RCV_RST: { target: 'CLOSED', actions: ['signalReset', 'deleteTcb'] },
        ABORT: { target: 'CLOSED', actions: ['sendRst', 'deleteTcb'] },
        TIMEOUT_USER: { target: 'CLOSED', actions: ['signalTimedOut', 'deleteTcb'] },
      },
    },
    CLOSING: {
      on: {
        RCV_ACK_OF_FIN: { target: 'TIME-WAIT', actions: 'startTimeWait' },
        RCV_RST: { target: 'CLOSED', actions: 'deleteTcb' },
        ABORT: { target: 'CLOSED', actions: 'deleteTcb' },
        TIMEOUT_USER: { target: 'CLOSED', actions: ['signalTimedOut', 'deleteTcb'] },
      },
    },
    'LAST-ACK': {
      on: {
        RCV_ACK_OF_FIN: { target: 'CLOSED', actions: 'deleteTcb' },
        RCV_RST: { target: 'CLOSED', actions: 'deleteTcb' },
        ABORT: { target: 'CLOSED', actions: 'deleteTcb' },
        TIMEOUT_USER: { target: 'CLOSED', actions: ['signalTimedOut', 'deleteTcb'] },
      },
    },
    'TIME-WAIT': {
      on: {
        // A retransmitted FIN: acknowledge it and restart the 2 MSL wait (§3.10.7.4, eighth).
        RCV_FIN: { target: 'TIME-WAIT', reenter: true, actions: ['sendAck', 'startTimeWait'] },
        TIMEOUT_2MSL: { target: 'CLOSED', actions: 'deleteTcb' },
        RCV_RST: { target: 'CLOSED', actions: 'deleteTcb' },
        ABORT: { target: 'CLOSED', actions: 'deleteTcb' },
      },
    },
  },
});

