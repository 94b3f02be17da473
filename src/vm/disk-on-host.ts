/**
 * The VM's Docker data disk made on this host (vm/prepare-on-host.sh): a private dockerd
 * loads the lab image into the loop-mounted disk at native speed, about 10 s where the
 * preparation boot spends 3–4 min loading it under emulation. Docker's on-disk layout is
 * its own version's, so the host's dockerd must be the VM's version; it also takes root
 * (mount) and the tools. Where any of that is missing the preparation boot does it.
 */
import { execFileSync, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { BootGuard } from "./boot.js";
import { VM_SCRIPTS_DIR, type VmPaths } from "./recipe.js";
import { onPath, readText, tail } from "./run-state.js";
import { t as say } from "../i18n/index.js";

const TOOLS = ["dockerd", "docker", "mkfs.ext4", "mount", "umount", "mountpoint"];

export interface HostFacts {
  uid: number | undefined;
  missingTools: string[];
  /** `dockerd --version` on this host, if it runs. */
  hostDockerd: string | undefined;
  /** docker.io's version in the VM (its manifest's docker= line). */
  vmDocker: string | undefined;
  /** LVS_LAB_VM_DISK_ON_HOST=0: the preparation boot, always. */
  off: boolean;
}

/** "20.10.24" from "Docker version 20.10.24+dfsg1, build 5d6db84" or "20.10.24+dfsg1-1+deb12u1+b6". */
export function upstreamVersion(text: string | undefined): string | undefined {
  return /(\d+\.\d+\.\d+)/.exec(text ?? "")?.[1];
}

/** Why the disk cannot be made on this host, or undefined when it can. Pure. */
export function hostRouteObstacle(f: HostFacts): string | undefined {
  if (f.off) return "LVS_LAB_VM_DISK_ON_HOST=0";
  if (f.uid !== 0) return "mounting the disk needs root";
  if (f.missingTools.length) return `${f.missingTools.join(", ")} not found`;
  const host = upstreamVersion(f.hostDockerd);
  const vm = upstreamVersion(f.vmDocker);
  if (!host || !vm) return "the Docker versions could not be compared";
  if (host !== vm) return `this host's dockerd is ${host}, the VM's ${vm}`;
  return undefined;
}

export function hostFacts(p: VmPaths): HostFacts {
  const missingTools = TOOLS.filter((t) => !onPath(t));
  let hostDockerd: string | undefined;
  if (!missingTools.includes("dockerd")) {
    try {
      hostDockerd = execFileSync("dockerd", ["--version"], { encoding: "utf8", timeout: 10_000 });
    } catch {
      hostDockerd = undefined;
    }
  }
  const vmDocker = /^docker=(.*)$/m.exec(readText(p.manifest) ?? "")?.[1];
  return { uid: process.getuid?.(), missingTools, hostDockerd, vmDocker, off: process.env.LVS_LAB_VM_DISK_ON_HOST === "0" };
}

/**
 * Runs vm/prepare-on-host.sh on `disk` (a sparse file of the right size). Its own process
 * group, tracked by the guard: an interrupt stops its dockerd and unmounts the disk.
 * Rejects with the script's last lines when it fails.
 */
export async function prepareOnHost(p: VmPaths, disk: string, ref: string, dockerHost: string | undefined, phase: (detail: string) => void, guard: BootGuard): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "lvs-lab-disk-"));
  const logFd = openSync(p.prepareLog, "w");
  try {
    const child = spawn("sh", [join(VM_SCRIPTS_DIR, "prepare-on-host.sh"), disk, ref, work], {
      detached: true,
      stdio: ["ignore", "pipe", logFd],
      env: { ...process.env, ...(dockerHost ? { DOCKER_HOST: dockerHost } : {}) },
    });
    const exited = new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (code) => resolve(code));
    });
    guard.trackBuild(child);
    let ready = false;
    for await (const line of createInterface({ input: child.stdout! })) {
      writeSync(logFd, line + "\n");
      const m = /^@@phase (format|dockerd|load)$/.exec(line);
      if (m) phase(say(`vm.phase.onHost.${m[1] as "format" | "dockerd" | "load"}`, { ref }));
      if (line === "data disk ready") ready = true;
    }
    const code = await exited;
    guard.trackBuild(undefined);
    if (code !== 0 || !ready) throw new Error(`vm/prepare-on-host.sh exit ${code}: ${tail(p.prepareLog, 5).trim() || "no output"}`);
  } finally {
    closeSync(logFd);
    rmSync(work, { recursive: true, force: true });
  }
}
