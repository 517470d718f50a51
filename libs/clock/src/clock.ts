/**
 * What time it is, as a port: the system's in the apps, a fixed one in small tests
 * that move it by hand (offers expiring, retries coming due) without waiting or faking
 * the process's timers.
 */
export abstract class Clock {
  abstract nowMs(): number;

  now(): Date {
    return new Date(this.nowMs());
  }
}

export class SystemClock extends Clock {
  nowMs(): number {
    return Date.now();
  }
}

/** A clock that stands still until a test moves it. */
export class FixedClock extends Clock {
  private ms: number;

  constructor(start: Date | string | number = '2026-12-05T12:00:00.000Z') {
    super();
    this.ms = new Date(start).getTime();
  }

  nowMs(): number {
    return this.ms;
  }

  advance(ms: number): void {
    this.ms += ms;
  }

  set(at: Date | string | number): void {
    this.ms = new Date(at).getTime();
  }
}
