// Kafka's windowed rate (clients/…/metrics/stats/Rate.java over SampledStat) and its throttle time
// (server-common/…/quota/QuotaUtils.throttleTime): samples of windowMs, the rate measured over the samples kept, with
// the window padded to (count - 1) full samples so a fresh client is not judged on its first millisecond.

export interface RateWindow {
  /** One sample's span (Kafka's quota.window.size.seconds). */
  windowMs: number;
  /** Samples kept (Kafka's quota.window.num). */
  windowCount: number;
}

interface Sample {
  startMs: number;
  value: number;
}

export class RateSensor {
  private readonly samples: Sample[] = [];

  constructor(private readonly window: RateWindow) {}

  /** Adds value at nowMs, in a new sample once the current one is windowMs old. */
  record(value: number, nowMs: number): void {
    let current = this.samples[this.samples.length - 1];
    if (!current || nowMs - current.startMs >= this.window.windowMs) {
      current = { startMs: nowMs, value: 0 };
      this.samples.push(current);
      if (this.samples.length > this.window.windowCount) this.samples.shift();
    }
    current.value += value;
  }

  /** Drops samples older than the whole window. */
  private purge(nowMs: number): void {
    const span = this.window.windowMs * this.window.windowCount;
    while (this.samples.length > 0 && nowMs - this.samples[0]!.startMs >= span) this.samples.shift();
  }

  /** The span the rate is measured over (Rate.windowSize): from the oldest sample, at least count - 1 windows. */
  windowSizeMs(nowMs: number): number {
    this.purge(nowMs);
    const { windowMs, windowCount } = this.window;
    let elapsedMs = this.samples.length > 0 ? nowMs - this.samples[0]!.startMs : 0;
    const fullWindows = Math.floor(elapsedMs / windowMs);
    if (fullWindows < windowCount - 1) elapsedMs += (windowCount - 1 - fullWindows) * windowMs;
    return elapsedMs;
  }

  /** Units per second over the window. */
  ratePerSecond(nowMs: number): number {
    const windowSizeMs = this.windowSizeMs(nowMs);
    let total = 0;
    for (const sample of this.samples) total += sample.value;
    return (total * 1000) / windowSizeMs;
  }

  /** True when nothing was recorded within the whole window (the sensor can be dropped). */
  isStale(nowMs: number): boolean {
    this.purge(nowMs);
    return this.samples.length === 0;
  }

  /**
   * QuotaUtils.throttleTime: how long the client must stay silent for the rate to fall back to `quota`:
   * (rate - quota) / quota × window size, 0 when within quota, at most the whole window.
   */
  throttleTimeMs(quotaPerSecond: number, nowMs: number): number {
    const rate = this.ratePerSecond(nowMs);
    if (rate <= quotaPerSecond) return 0;
    const throttleMs = Math.round(((rate - quotaPerSecond) / quotaPerSecond) * this.windowSizeMs(nowMs));
    return Math.min(throttleMs, this.window.windowMs * this.window.windowCount);
  }
}
