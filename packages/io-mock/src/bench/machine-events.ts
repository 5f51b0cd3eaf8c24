import { createActor, initialTransition, transition } from 'xstate';
import { type TcpMachineEvent, tcpMachine } from '@tcpts/core';

/** A whole connection's life (open, establish, close both ways, TIME-WAIT) as machine events. */
const LIFE: TcpMachineEvent[] = [
  { type: 'OPEN_ACTIVE' },
  { type: 'RCV_SYN_ACK' },
  { type: 'CLOSE' },
  { type: 'RCV_ACK_OF_FIN' },
  { type: 'RCV_FIN' },
  { type: 'TIMEOUT_2MSL' },
];

function timeLoop(durationMs: number, round: () => number): number {
  let events = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < durationMs) {
    for (let i = 0; i < 20; i++) events += round();
    elapsed = performance.now() - start;
  }
  return (events / elapsed) * 1000;
}

/**
 * Machine events per second, two ways: a long-lived actor's `send` (what a
 * connection uses) and the stateless pure `transition()`.
 */
export function benchMachineEvents(durationMs = 1000): { actorEventsPerSecond: number; pureEventsPerSecond: number } {
  const actor = createActor(tcpMachine, { input: { foreignSocketKnown: true } }).start();
  const actorEventsPerSecond = timeLoop(durationMs, () => {
    for (const event of LIFE) actor.send(event);
    if (actor.getSnapshot().value !== 'CLOSED') throw new Error('life did not end in CLOSED');
    return LIFE.length;
  });
  const [initial] = initialTransition(tcpMachine, { foreignSocketKnown: true });
  const pureEventsPerSecond = timeLoop(durationMs, () => {
    let snapshot = initial;
    for (const event of LIFE) [snapshot] = transition(tcpMachine, snapshot, event);
    if (snapshot.value !== 'CLOSED') throw new Error('life did not end in CLOSED');
    return LIFE.length;
  });
  return { actorEventsPerSecond, pureEventsPerSecond };
}
