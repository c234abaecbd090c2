// What a link's forwarding (link.ts) and its pull (downlink.ts) share: sessions with the central cluster, one after
// another until stopped. A session opens connections, works until something fails, and is closed; the loop then
// reports the failure (state and log line), backs off (exponential from limits.uplinkBackoffMinMs, full jitter; at
// once to limits.uplinkBackoffMaxMs for failures no retry fixes: refused credentials, configuration, fencing) and
// starts another. A session that ran longer than the cap was healthy: the backoff starts over from the bottom.

import { limits } from "../config.ts";
import { log } from "../util/logger.ts";
import { asUplinkError, CentralCluster, UplinkError } from "./central-cluster.ts";
import type { LinkConfig } from "./link-config.ts";

export type LinkState = "starting" | "connected" | "backing-off" | "fenced" | "stopped";

/** Rejects with the session's failure as soon as any of its connections fails: race every wait against it. */
export type SessionGuard = <T>(promise: Promise<T>) => Promise<T>;

export abstract class SessionLoop {
  state: LinkState = "starting";
  protected lastError: string | null = null;
  protected lastErrorKind: UplinkError["kind"] | null = null;
  protected stateSince = Date.now();
  protected stopped = false;
  /** Ends the current sleep or wait at once (stop). */
  protected wake: (() => void) | null = null;
  private cluster: CentralCluster | null = null;
  private attempt = 0;
  private running: Promise<void> | null = null;

  constructor(
    readonly config: LinkConfig,
    /** The log line of state changes ("uplink state", "downlink state") and the connections' client id prefix. */
    private readonly role: "uplink" | "downlink",
    protected readonly edgeId: string,
  ) {}

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    this.cluster?.close();
    await this.running;
    this.onStopped();
    this.setState("stopped", null);
  }

  /** One session's work on an open cluster; returns only when stopped, throws on any failure. */
  protected abstract session(cluster: CentralCluster, guard: SessionGuard): Promise<void>;

  /** The state and message a failure is reported with (the link says more of fencing). */
  protected describeFailure(error: UplinkError): { state: LinkState; message: string } {
    return { state: "backing-off", message: error.message };
  }

  /** After every session, and once more on stop (checkpoints). */
  protected onSessionEnd(): void {}
  protected onStopped(): void {}

  /** Extra fields of the state-change log line. */
  protected stateFields(): Record<string, unknown> {
    return {};
  }

  protected setState(state: LinkState, error: string | null): void {
    const changed = state !== this.state || error !== this.lastError;
    if (state !== this.state) this.stateSince = Date.now();
    this.state = state;
    this.lastError = error;
    if (!changed) return;
    const fields = { link: this.config.name, state, ...this.stateFields(), ...(error ? { error, kind: this.lastErrorKind } : {}) };
    if (state === "connected" || state === "stopped") log.info(`${this.role} state`, fields);
    else log.warn(`${this.role} state`, fields);
  }

  /** Sleeps `ms`, or less when stopped. */
  protected async sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.stopped) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    let backoffMs: number = limits.uplinkBackoffMinMs;
    while (!this.stopped) {
      const startedMs = Date.now();
      try {
        const cluster = await CentralCluster.connect(this.config, `kgate-${this.role}-${this.edgeId}`, this.attempt++);
        this.cluster = cluster;
        const failed = new Promise<never>((_, reject) => {
          cluster.onFailure = (error) => reject(asUplinkError(error));
        });
        failed.catch(() => {});
        await this.session(cluster, (promise) => Promise.race([promise, failed]));
      } catch (error) {
        if (this.stopped) break;
        const failure = asUplinkError(error);
        this.lastErrorKind = failure.kind;
        const { state, message } = this.describeFailure(failure);
        this.setState(state, message);
        if (Date.now() - startedMs > limits.uplinkBackoffMaxMs) backoffMs = limits.uplinkBackoffMinMs;
        const capped = failure.kind === "fenced" || failure.kind === "auth" || failure.kind === "config" ? limits.uplinkBackoffMaxMs : backoffMs;
        await this.sleep(Math.random() * capped);
        backoffMs = Math.min(backoffMs * 2, limits.uplinkBackoffMaxMs);
      } finally {
        this.cluster?.close();
        this.cluster = null;
        this.onSessionEnd();
      }
    }
  }
}
