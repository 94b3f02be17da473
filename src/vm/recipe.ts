/**
 * Where the lvs-lab VM lives on disk and which recipe built it.
 *
 * Layout (root = ${XDG_CACHE_HOME:-~/.cache}/lvs-lab/vm):
 *   root/<recipe-hash>/vmlinuz, initrd.cpio, manifest.txt   kernel, a small initramfs that
 *   root/<recipe-hash>/root.img                             mounts the root disk (vm/build.sh)
 *   root/<recipe-hash>/docker-<key>.img                     Docker data disk holding the lab
 *                                                           image; read-only base, booted
 *                                                           copy-on-write (snapshot=on)
 *   root/run/qemu.pid, state.json, console.log, up.lock     the running VM
 *   root/run/last-use, idle-watch.log, stopped.json         idle stop (idle.ts)
 *   root/accel.json, timings.json                           KVM trial verdicts (accel.ts),
 *                                                           phase durations (estimates.ts)
 *
 * The recipe hash covers vm/build.sh and vm/init (their names and contents): edit either
 * and the next `vm up` rebuilds. Pure functions here; nothing starts processes.
 */
import { createHash } from "node:crypto";
import { copyFileSync, linkSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheDir, invokingHome } from "../paths.js";

/** vm/ at the package root (same relative place from src/vm and dist/vm). */
export const VM_SCRIPTS_DIR = fileURLToPath(new URL("../../vm/", import.meta.url));
/** Files whose contents decide what the build produces. vm/run.sh only launches, so it is not part of it. */
export const RECIPE_FILES = ["build.sh", "init"] as const;

export interface RecipeFile {
  name: string;
  content: string | Buffer;
}

/** 16 hex digits of sha256 over the files' names and contents, independent of their order. */
export function recipeHash(files: RecipeFile[]): string {
  const h = createHash("sha256");
  h.update("lvs-lab-vm-recipe\0");
  for (const f of [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const content = typeof f.content === "string" ? Buffer.from(f.content, "utf8") : f.content;
    h.update(`${f.name}\0${content.length}\0`);
    h.update(content);
  }
  return h.digest("hex").slice(0, 16);
}

export function readRecipe(dir: string = VM_SCRIPTS_DIR): RecipeFile[] {
  return RECIPE_FILES.map((name) => ({ name, content: readFileSync(join(dir, name)) }));
}

export function currentRecipeHash(dir: string = VM_SCRIPTS_DIR): string {
  return recipeHash(readRecipe(dir));
}

/** The VM's part of lvs-lab's cache; under sudo, the invoking user's (paths.ts). */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env, home: string = invokingHome(env)): string {
  return join(cacheDir(env, home), "vm");
}

export interface VmPaths {
  root: string;
  hash: string;
  recipeDir: string;
  kernel: string;
  initrd: string;
  /** The VM's root filesystem (ext4), booted copy-on-write. */
  rootDisk: string;
  manifest: string;
  buildLog: string;
  stateDir: string;
  pidFile: string;
  stateFile: string;
  consoleLog: string;
  prepareLog: string;
  lockFile: string;
  /** Touched by every command that uses the VM: the idle stop counts from the latest. */
  lastUseFile: string;
  idleLog: string;
  /** Why the VM last stopped on its own (idle), for `vm status` and `stop --all`. */
  stoppedFile: string;
  accelFile: string;
  trialLog: string;
  /** Phase durations measured here, for estimates (estimates.ts). */
  timingsFile: string;
}

export function vmPaths(root: string, hash: string): VmPaths {
  const recipeDir = join(root, hash);
  const stateDir = join(root, "run");
  return {
    root,
    hash,
    recipeDir,
    kernel: join(recipeDir, "vmlinuz"),
    initrd: join(recipeDir, "initrd.cpio"),
    rootDisk: join(recipeDir, "root.img"),
    manifest: join(recipeDir, "manifest.txt"),
    buildLog: join(root, `build-${hash}.log`),
    stateDir,
    pidFile: join(stateDir, "qemu.pid"),
    stateFile: join(stateDir, "state.json"),
    consoleLog: join(stateDir, "console.log"),
    prepareLog: join(stateDir, "prepare.log"),
    lockFile: join(stateDir, "up.lock"),
    lastUseFile: join(stateDir, "last-use"),
    idleLog: join(stateDir, "idle-watch.log"),
    stoppedFile: join(stateDir, "stopped.json"),
    accelFile: join(root, "accel.json"),
    trialLog: join(stateDir, "accel-trial.log"),
    timingsFile: join(root, "timings.json"),
  };
}

/**
 * File name of the data disk for one lab image. Keyed by the image id (content) and the
 * ref (the tag it must carry inside the VM): a rebuilt image under the same tag gets a new disk.
 */
export function dataDiskName(imageId: string, ref: string): string {
  const key = createHash("sha256").update(`${imageId}\n${ref}`).digest("hex").slice(0, 16);
  return `docker-${key}.img`;
}

/** What vm/build.sh leaves in a recipe directory: all of them, or the build is not done. */
export const BUILT_FILES = ["vmlinuz", "initrd.cpio", "root.img", "manifest.txt"] as const;

/**
 * A cache of its own (XDG_CACHE_HOME `cacheHome`) holding this cache's build of the current
 * recipe and its data disks as hard links (copies across file systems): a second VM boots
 * from it copy-on-write, with its own run state and port, and builds nothing. Returns the
 * recipe directory made there.
 */
export function shareBuild(cacheHome: string): string {
  const built = join(cacheRoot(), currentRecipeHash());
  const dir = join(cacheHome, "lvs-lab", "vm", currentRecipeHash());
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(built).filter((n) => (BUILT_FILES as readonly string[]).includes(n) || /^docker-[0-9a-f]+\.img$/.test(n))) {
    try {
      linkSync(join(built, name), join(dir, name));
    } catch {
      copyFileSync(join(built, name), join(dir, name));
    }
  }
  return dir;
}

/** Recipe directories are exactly 16 hex digits; everything else in root is not one. */
export function isRecipeDirName(name: string): boolean {
  return /^[0-9a-f]{16}$/.test(name);
}
