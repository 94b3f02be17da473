/**
 * Building the VM: vm/build.sh (debootstrap, kernel, root disk, initramfs) into a temporary
 * directory, renamed into place once complete; stale and superseded builds are removed.
 */
import { execFile, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { UserError } from "../errors.js";
import { t as say } from "../i18n/index.js";
import type { BootGuard } from "./boot.js";
import { processAlive } from "./qemu.js";
import { BUILT_FILES, isRecipeDirName, VM_SCRIPTS_DIR, type VmPaths } from "./recipe.js";
import { readState, readText, runningPid, tail, type VmPhase } from "./run-state.js";

/** Every file of this recipe's build is in place. */
export function isBuilt(p: VmPaths): boolean {
  return BUILT_FILES.every((name) => existsSync(join(p.recipeDir, name)));
}

/** Runs vm/build.sh into a temporary directory when this recipe is not built yet. True if it built. */
export async function ensureBuilt(p: VmPaths, phase: (name: VmPhase, detail: string) => void, guard: BootGuard): Promise<boolean> {
  if (isBuilt(p)) return false;
  if (process.getuid?.() !== 0) {
    throw new UserError(say("vm.errors.buildNeedsRoot"), say("vm.errors.buildNeedsRootHint"));
  }
  mkdirSync(p.root, { recursive: true });
  await removeStaleBuilds(p.root);
  const tmp = join(p.root, `${p.hash}.tmp-${process.pid}`);
  const logFd = openSync(p.buildLog, "w");
  const started = Date.now();
  try {
    const child = spawn("sh", [join(VM_SCRIPTS_DIR, "build.sh"), tmp], {
      stdio: ["ignore", "pipe", logFd],
      detached: true, // own process group: cleanup stops debootstrap too
      env: { ...process.env, LC_ALL: "C", DEBIAN_FRONTEND: "noninteractive" },
    });
    const exited = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (exitCode, signal) => resolve({ exitCode, signal }));
    });
    guard.trackBuild(child);
    const lines = createInterface({ input: child.stdout! });
    for await (const line of lines) {
      writeFileSync(logFd, line + "\n");
      const m = /^@@phase (\S+) ?(.*)$/.exec(line);
      if (m && m[1] !== "done") phase(m[1]!, `${m[2]} (+${Math.round((Date.now() - started) / 1000)} s)`);
    }
    const result = await exited;
    guard.trackBuild(undefined);
    if (result.exitCode !== 0 || !BUILT_FILES.every((name) => existsSync(join(tmp, name)))) {
      throw new UserError(say("vm.errors.buildFailed", { code: result.exitCode ?? result.signal, log: tail(p.buildLog) }), say("vm.errors.buildFailedHint", { path: p.buildLog }));
    }
    rmSync(p.recipeDir, { recursive: true, force: true });
    renameSync(tmp, p.recipeDir);
    removeOtherRecipes(p);
    return true;
  } finally {
    closeSync(logFd);
    await removeTree(tmp);
  }
}

/** Unmounts anything debootstrap left mounted under dir (an interrupted build), then deletes it. */
async function removeTree(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  const mounts = (readText("/proc/self/mounts") ?? "")
    .split("\n")
    .map((l) => (l.split(" ")[1] ?? "").replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((m) => m.startsWith(dir + "/"))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await promisify(execFile)("umount", ["-l", m]).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}

async function removeStaleBuilds(root: string): Promise<void> {
  for (const name of readdirSync(root)) {
    const m = /^[0-9a-f]{16}\.tmp-(\d+)$/.exec(name);
    if (m && !processAlive(Number(m[1]))) await removeTree(join(root, name));
  }
}

/** Old recipes' kernels and disks (~0.5–2 GB each), except one a running VM still uses. */
function removeOtherRecipes(p: VmPaths): void {
  const inUse = runningPid(p) !== undefined ? readState(p)?.recipe : undefined;
  for (const name of readdirSync(p.root)) {
    if (isRecipeDirName(name) && name !== p.hash && name !== inUse) rmSync(join(p.root, name), { recursive: true, force: true });
  }
  for (const name of readdirSync(p.root)) {
    const m = /^build-([0-9a-f]{16})\.log$/.exec(name);
    if (m && m[1] !== p.hash) rmSync(join(p.root, name), { force: true });
  }
}
