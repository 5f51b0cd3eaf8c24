/**
 * Virtual time in milliseconds. It only moves when the simulation moves it, so
 * a run that covers minutes of protocol time takes milliseconds of wall time
 * and never depends on how fast the machine is.
 */
export class VirtualClock {
  private current: number;

  constructor(start = 0) {
    if (!Number.isFinite(start)) throw new RangeError(`clock start must be finite, got ${start}`);
    this.current = start;
  }

  get now(): number {
    return this.current;
  }

  /** Moves forward to `time`; moving backwards is a scheduling bug, so it throws. */
  advanceTo(time: number): void {
    if (!(time >= this.current)) {
      throw new RangeError(`virtual clock cannot go back from ${this.current} to ${time}`);
    }
    this.current = time;
  }
}
