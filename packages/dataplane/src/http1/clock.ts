// One coarse timer for many connections: each connection keeps a deadline (a number), and a shared
// interval checks them. Setting a deadline per request costs a property write, not a timer.
import { performance } from 'node:perf_hooks';
import { MemberList } from './member-list.js';

export interface DeadlineOwner {
  /** performance.now() milliseconds, or 0 for none. */
  deadline: number;
  /** Called once the deadline has passed (the owner clears or moves it). */
  onDeadline(now: number): void;
}

export class ConnectionClock {
  private readonly owners = new MemberList<DeadlineOwner>('clock slot');
  private timer: NodeJS.Timeout | undefined;

  /** `resolutionMs`: how late a deadline may be noticed. */
  constructor(readonly resolutionMs = 1000) {}

  now(): number {
    return performance.now();
  }

  add(owner: DeadlineOwner): void {
    this.owners.add(owner);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.tick(), this.resolutionMs);
      this.timer.unref();
    }
  }

  delete(owner: DeadlineOwner): void {
    this.owners.delete(owner);
    if (this.owners.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  get size(): number {
    return this.owners.size;
  }

  private tick(): void {
    const now = performance.now();
    this.owners.forEach((owner) => {
      if (owner.deadline !== 0 && owner.deadline <= now) owner.onDeadline(now);
    });
  }
}

/** The clock connections share unless given their own (1 s resolution). */
export const defaultClock = new ConnectionClock(1000);
