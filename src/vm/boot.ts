/**
 * Booting QEMU through vm/run.sh and keeping it under control: the guard that kills a
 * half-booted VM on error, abort or exit, waiting for the guest's engine, and stopping
 * our QEMU.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { Engine } from "../docker/engine.js";
import { UserError, withTimeout } from "../errors.js";
import { t as say } from "../i18n/index.js";
import { FIRST_HOST_PORT, parsePidFile, processAlive, qemuArgv, type Accel, type QemuOptions } from "./qemu.js";
import { VM_SCRIPTS_DIR, type VmPaths } from "./recipe.js";
import { readText, removeRunFiles, sleep, tail } from "./run-state.js";
import { QEMU_BIN, TCG_TB_SIZE_MIB, vmMemoryMiB, vmPreloadsModules } from "./settings.js";

const BOOT_TIMEOUT_MS = 300_000;

export async function engineAnswers(dockerHost: string, ms: number): Promise<boolean> {
  try {
    await withTimeout(() => new Engine(dockerHost).info(), ms, `the VM's engine at ${dockerHost}`);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, up to 5 s, then SIGKILL. QEMU's snapshot overlay is an unlinked temp file: nothing is left behind. */
export async function stopPid(pid: number): Promise<void> {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  for (let i = 0; i < 50 && processAlive(pid); i++) await sleep(100);
  if (processAlive(pid)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
    for (let i = 0; i < 30 && processAlive(pid); i++) await sleep(100);
  }
}

/**
 * Kills what a `vm up` started if it does not finish: QEMU (through the run.sh pipe, and
 * directly on SIGINT/SIGTERM/exit) and the build's process group.
 */
export class BootGuard {
  private qemuPid: number | undefined;
  private wrapper: ChildProcess | undefined;
  private build: ChildProcess | undefined;
  private interrupted = false;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.interrupted = true;
    this.killNow();
    process.removeListener("SIGINT", this.onSignal);
    process.removeListener("SIGTERM", this.onSignal);
    // Let the default action (or the CLI's own handler) run now that QEMU is gone.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  private readonly onExit = () => this.killNow();

  constructor(private readonly p: VmPaths) {
    process.on("SIGINT", this.onSignal);
    process.on("SIGTERM", this.onSignal);
    process.on("exit", this.onExit);
  }

  track(wrapper: ChildProcess, qemuPid: number): void {
    this.wrapper = wrapper;
    this.qemuPid = qemuPid;
  }

  trackBuild(child: ChildProcess | undefined): void {
    this.build = child;
  }

  /** The VM booted: from now on it is meant to outlive us. */
  untrack(): void {
    this.wrapper = undefined;
    this.qemuPid = undefined;
  }

  abort(): void {
    this.interrupted = true;
    this.killNow();
  }

  /** Interrupted: what failed since failed for that reason, and nothing is tried instead. */
  get aborted(): boolean {
    return this.interrupted;
  }

  private killNow(): void {
    if (this.build?.pid && this.build.exitCode === null) {
      try {
        process.kill(-this.build.pid, "SIGTERM");
      } catch {
        /* gone */
      }
    }
    if (this.qemuPid !== undefined) {
      try {
        process.kill(this.qemuPid, "SIGKILL");
      } catch {
        /* gone */
      }
      removeRunFiles(this.p, this.qemuPid);
      this.qemuPid = undefined;
    }
    try {
      this.wrapper?.stdin?.end();
    } catch {
      /* closed */
    }
    if (parsePidFile(readText(this.p.lockFile)) === process.pid) rmSync(this.p.lockFile, { force: true });
  }

  /** Stops the QEMU being booted (if any) and forgets it; the guard stays armed. */
  async stopTracked(): Promise<void> {
    const pid = this.qemuPid;
    if (pid === undefined) return;
    this.wrapper?.stdin?.end(); // run.sh: SIGTERM, SIGKILL after 3 s
    await stopPid(pid);
    removeRunFiles(this.p, pid);
    this.untrack();
  }

  /** End of `vm up`: stop what did not get detached, disarm the handlers. */
  async dispose(): Promise<void> {
    await this.stopTracked();
    this.killNow();
    process.removeListener("SIGINT", this.onSignal);
    process.removeListener("SIGTERM", this.onSignal);
    process.removeListener("exit", this.onExit);
  }
}

export interface BootedVm {
  pid: number;
  port: number;
  dockerHost: string;
  waitForEngine(timeoutMs?: number): Promise<void>;
  detach(): Promise<void>;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** How many ports from FIRST_HOST_PORT on the VM's engine may take (one per cache root running a VM). */
export const PORT_TRIES = 100;

async function pickPort(start = FIRST_HOST_PORT): Promise<number> {
  for (let port = start; port < FIRST_HOST_PORT + PORT_TRIES; port++) if (await portFree(port)) return port;
  throw new UserError(say("vm.errors.noFreePort", { first: FIRST_HOST_PORT, last: FIRST_HOST_PORT + PORT_TRIES - 1 }), say("vm.errors.noFreePortHint"));
}

/** What a VM of this cache is booted with: the settings of this process, the disks and extras given. */
export function vmQemuOptions(p: VmPaths, disk: BootDisks, hostPort: number, accel: Accel): QemuOptions {
  return {
    kernel: p.kernel,
    initrd: p.initrd,
    rootDisk: p.rootDisk,
    ...disk,
    diskSnapshot: disk.diskSnapshot ?? true,
    hostPort,
    memoryMiB: vmMemoryMiB(),
    cpus: 2,
    accel,
    tbSizeMiB: TCG_TB_SIZE_MIB,
    preloadModules: vmPreloadsModules(),
  };
}

/** The disks of a boot, and what a saved or restored VM needs besides (resume.ts). */
export type BootDisks = Pick<QemuOptions, "disk" | "prepareImage" | "overlays" | "qmpSocket" | "clockPipe" | "incoming"> & { diskSnapshot?: boolean };

/**
 * Starts QEMU via vm/run.sh. `recordPid`: write run/qemu.pid (normal boots; the preparation
 * boot is never "the VM"). Retries on another port if QEMU cannot bind the forward.
 */
export async function bootVm(
  p: VmPaths,
  disk: BootDisks,
  guard: BootGuard,
  recordPid: boolean,
  accel: Accel,
): Promise<BootedVm> {
  const log = recordPid ? p.consoleLog : p.prepareLog;
  let port = FIRST_HOST_PORT;
  for (let attempt = 0; ; attempt++) {
    port = await pickPort(port);
    const argv = qemuArgv(vmQemuOptions(p, disk, port, accel));
    writeFileSync(log, `# ${new Date().toISOString()} ${QEMU_BIN} ${argv.join(" ")}\n`);
    const logFd = openSync(log, "a");
    // A restore reads the saved state on INCOMING_FD (run.sh and QEMU inherit it).
    const stateFd = disk.incoming ? openSync(disk.incoming, "r") : undefined;
    const wrapper = spawn("sh", [join(VM_SCRIPTS_DIR, "run.sh"), log, QEMU_BIN, ...argv], {
      detached: true, // own session: the terminal's Ctrl-C reaches lvs-lab, which decides
      stdio: ["pipe", "pipe", logFd, ...(stateFd === undefined ? [] : [stateFd])],
    });
    closeSync(logFd);
    if (stateFd !== undefined) closeSync(stateFd);
    const pid = await firstLine(wrapper);
    guard.track(wrapper, pid);
    if (recordPid) writeFileSync(p.pidFile, `${pid}\n`);
    const dockerHost = `tcp://127.0.0.1:${port}`;

    // QEMU exits at once if the port was taken between our check and its bind.
    await sleep(400);
    if (!processAlive(pid) && /host forwarding rule/i.test(readText(log) ?? "") && attempt < 5) {
      await guard.stopTracked();
      port++;
      continue;
    }

    return {
      pid,
      port,
      dockerHost,
      waitForEngine: async (timeoutMs = BOOT_TIMEOUT_MS) => {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          if (!processAlive(pid)) {
            throw new UserError(say("vm.errors.stoppedBooting", { log: tail(log) }), say("vm.errors.consoleLog", { path: log }));
          }
          if (await engineAnswers(dockerHost, 4_000)) return;
          if (Date.now() > deadline) {
            throw new UserError(say("vm.errors.engineSilent", { s: timeoutMs / 1000, log: tail(log) }), say("vm.errors.consoleLog", { path: log }));
          }
          await sleep(1_000);
        }
      },
      detach: async () => {
        const exited = new Promise<void>((resolve) => {
          if (wrapper.exitCode !== null) resolve();
          else wrapper.once("exit", () => resolve());
        });
        wrapper.stdin!.end("detach\n");
        await withTimeout(() => exited, 5_000, "the VM launcher to detach");
        guard.untrack();
        wrapper.stdout?.destroy();
        wrapper.unref();
      },
    };
  }
}

/** The first line run.sh prints: the pid of the QEMU it started. */
export function firstLine(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const onData = (b: Buffer) => {
      buf += b.toString("utf8");
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        child.stdout!.off("data", onData);
        const pid = parsePidFile(buf.slice(0, nl));
        if (pid === undefined) reject(new Error(`vm/run.sh printed "${buf.slice(0, nl)}" instead of a pid`));
        else resolve(pid);
      }
    };
    child.stdout!.on("data", onData);
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`vm/run.sh exited (${code}) before starting QEMU`)));
  });
}
