/**
 * The idle watcher: a detached `node dist/vm/idle-watch.js ROOT PID DOCKER_HOST MINUTES`
 * started by vmUp once the VM runs. It ends with the VM (vm down, crash, or its own idle
 * stop), so at most one runs per VM. See idle.ts.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync, statSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Engine } from "../docker/engine.js";
import { LABEL, ONE_SHOT_INSTANCE } from "../docker/labels.js";
import { stopPid } from "./boot.js";
import { idlePollMs, watchIdle, type IdleStopRecord } from "./idle.js";
import { isOurQemu, processAlive, readProcCmdline } from "./qemu.js";
import { vmPaths, type VmPaths } from "./recipe.js";
import { removeRunFiles, sleep } from "./run-state.js";

/** dist/vm/idle-watch.js whether this module runs from src (tests) or dist. */
export const IDLE_WATCH_SCRIPT = fileURLToPath(new URL("../../dist/vm/idle-watch.js", import.meta.url));

export function startIdleWatch(p: VmPaths, qemuPid: number, dockerHost: string, idleMinutes: number): number | undefined {
  const log = openSync(p.idleLog, "a");
  const child = spawn(process.execPath, [IDLE_WATCH_SCRIPT, p.root, String(qemuPid), dockerHost, String(idleMinutes)], {
    detached: true,
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  child.unref();
  return child.pid;
}

/** The watcher's pid is ours only while its command line still names this script and VM. */
export function isIdleWatch(argv: string[] | undefined, qemuPid: number): boolean {
  return Boolean(argv && argv[1] === IDLE_WATCH_SCRIPT && argv[3] === String(qemuPid));
}

function mtimeMs(file: string): number | undefined {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

async function main(argv: string[]): Promise<void> {
  const [root, pidText, dockerHost, minutesText] = argv;
  const pid = Number(pidText);
  const idleMs = Number(minutesText) * 60_000;
  if (!root || !dockerHost || !Number.isInteger(pid) || !(idleMs > 0)) throw new Error(`usage: idle-watch.js ROOT PID DOCKER_HOST MINUTES (got ${argv.join(" ")})`);
  const p = vmPaths(root, "_");
  const engine = new Engine(dockerHost);
  const log = (text: string) => process.stdout.write(`${new Date().toISOString()} ${text}\n`);
  log(`watching QEMU ${pid} (${dockerHost}): stop after ${minutesText} min without a lab instance`);
  const end = await watchIdle({
    idleMs,
    pollMs: idlePollMs(idleMs),
    bootedAt: Date.now(),
    now: () => Date.now(),
    sleep,
    qemuAlive: () => processAlive(pid) && isOurQemu(readProcCmdline(pid), root),
    countInstances: async () => {
      try {
        const containers = await engine.listContainers();
        return new Set(containers.map((c) => c.labels[LABEL.instance]).filter((i) => i && i !== ONE_SHOT_INSTANCE)).size;
      } catch {
        return undefined;
      }
    },
    lastUse: () => mtimeMs(p.lastUseFile),
    stop: async (idleMinutes) => {
      const record: IdleStopRecord = { at: new Date().toISOString(), idleMinutes, pid };
      writeFileSync(p.stoppedFile, JSON.stringify(record) + "\n");
      log(`no lab instance for ${idleMinutes} min: stopping QEMU ${pid}`);
      await stopPid(pid);
      removeRunFiles(p, pid);
    },
  });
  log(end);
}

if (process.argv[1] === IDLE_WATCH_SCRIPT) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`idle-watch: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
