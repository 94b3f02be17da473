/**
 * The VM's run/ files (pid, state, lock) and the small helpers around them. A stale pid
 * or state file (no QEMU of ours behind it) is removed when read.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { isOurQemu, parsePidFile, processAlive, readProcCmdline, type Accel } from "./qemu.js";
import { cacheRoot, currentRecipeHash, vmPaths, type VmPaths } from "./recipe.js";

export type VmPhase = "download" | "build" | "pack" | "accel" | "notice" | "disk" | "boot" | "image load" | "ready" | "stop" | string;

export interface VmState {
  pid: number;
  port: number;
  dockerHost: string;
  accel: Accel;
  startedAt: string;
  bootSeconds?: number;
  recipe: string;
  disk: string;
  imageRef: string;
  imageId: string;
  /** Guest memory given (MiB). */
  memoryMiB?: number;
  /** The idle stop: minutes, and the watcher's pid (idle-watch.ts). */
  idleMinutes?: number;
  idleWatchPid?: number;
}

export function readText(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

export function readState(p: VmPaths): VmState | undefined {
  const text = readText(p.stateFile);
  if (!text) return undefined;
  try {
    return JSON.parse(text) as VmState;
  } catch {
    return undefined;
  }
}

export function writeState(p: VmPaths, s: VmState): void {
  const tmp = `${p.stateFile}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(s, null, 2) + "\n");
  renameSync(tmp, p.stateFile);
}

export function removeRunFiles(p: VmPaths, onlyPid?: number): void {
  if (onlyPid !== undefined && parsePidFile(readText(p.pidFile)) !== onlyPid) return;
  for (const f of [p.pidFile, p.stateFile]) rmSync(f, { force: true });
}

export function tail(file: string, lines = 15): string {
  const text = readText(file) ?? "";
  return text.split("\n").filter((l) => l.trim()).slice(-lines).join("\n");
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function seconds(since: number): number {
  return Math.round((Date.now() - since) / 100) / 10;
}

export function onPath(cmd: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((d) => d && existsSync(join(d, cmd)));
}

/** Paths resolve against the current recipe; a running VM may come from an older one (same run/ dir). */
export function paths(): VmPaths {
  return vmPaths(cacheRoot(), currentRecipeHash());
}

/** The pid of our running QEMU, or undefined (stale pid/state files are removed). */
export function runningPid(p: VmPaths): number | undefined {
  const pid = parsePidFile(readText(p.pidFile));
  if (pid === undefined) return undefined;
  if (processAlive(pid) && isOurQemu(readProcCmdline(pid), p.root)) return pid;
  removeRunFiles(p, pid);
  return undefined;
}
