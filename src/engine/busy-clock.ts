/**
 * Wall time during which at least one model or judge was working. With the next draft step
 * written while the current one is judged, model times overlap, so "wall time minus the sum of
 * model times" would hide engine overhead; the union of busy intervals does not.
 */
export class BusyClock {
  private active = 0;
  private since = 0;
  private total = 0;

  async time<T>(work: Promise<T>): Promise<T> {
    if (this.active++ === 0) this.since = performance.now();
    try {
      return await work;
    } finally {
      if (--this.active === 0) this.total += performance.now() - this.since;
    }
  }

  /** Busy milliseconds so far (an interval still open counts up to now). */
  get busyMs(): number {
    return this.total + (this.active > 0 ? performance.now() - this.since : 0);
  }
}
