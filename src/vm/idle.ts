/**
 * The VM powers itself off after a while with no lab instance in it, so that a learner
 * who walked away does not leave 1.5 GB and a busy core behind. A detached watcher
 * (idle-watch.ts) polls the VM's engine; the decision is watchIdle here, IO injected.
 *
 * Idle counts from the latest of: the boot, the last poll that saw an instance, the last
 * command that used the VM (run/last-use, touched by vmDockerHost and vmUp). An engine
 * that does not answer is no proof of idleness: the VM is left alone.
 */
export interface IdleWatchDeps {
  idleMs: number;
  pollMs: number;
  bootedAt: number;
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Is our QEMU still there? When it is gone (vm down, crash) the watcher ends. */
  qemuAlive(): boolean;
  /** Lab instances in the VM's engine; undefined when the engine did not answer. */
  countInstances(): Promise<number | undefined>;
  /** ms timestamp of the latest command that used the VM, if any. */
  lastUse(): number | undefined;
  stop(idleMinutes: number): Promise<void>;
}

export type IdleWatchEnd = "qemu gone" | "stopped idle";

export async function watchIdle(d: IdleWatchDeps): Promise<IdleWatchEnd> {
  let lastBusy = d.bootedAt;
  for (;;) {
    if (!d.qemuAlive()) return "qemu gone";
    const instances = await d.countInstances();
    const now = d.now();
    if (instances === undefined || instances > 0) lastBusy = now;
    lastBusy = Math.max(lastBusy, d.lastUse() ?? 0);
    if (now - lastBusy >= d.idleMs) {
      if (!d.qemuAlive()) return "qemu gone";
      await d.stop(d.idleMs / 60_000);
      return "stopped idle";
    }
    await d.sleep(Math.min(d.pollMs, Math.max(1_000, lastBusy + d.idleMs - now)));
  }
}

/** Often enough to stop within a few percent of the idle time, never more than once a minute. */
export function idlePollMs(idleMs: number): number {
  return Math.min(60_000, Math.max(2_000, Math.round(idleMs / 20)));
}

export interface IdleStopRecord {
  at: string;
  idleMinutes: number;
  pid: number;
}
