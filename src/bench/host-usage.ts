/**
 * What lab instances cost the machine: container memory as the engine reports it, the
 * containerd shims and daemons beside them, the host's available memory, CPU time.
 * Local readings (/proc) only make sense for a local engine.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** MiB from docker's "12.5MiB" / "1.2GiB" / "800KiB" / "512B". */
export function mib(text: string): number {
  const m = /([\d.]+)\s*([KMG]i?B|B)/.exec(text);
  if (!m) return NaN;
  const unit: Record<string, number> = { B: 1 / 1048576, KiB: 1 / 1024, kB: 1 / 1024, KB: 1 / 1024, MiB: 1, MB: 1, GiB: 1024, GB: 1024 };
  return Number(m[1]) * (unit[m[2]!] ?? NaN);
}

/**
 * Memory (MiB) per instance of `docker stats` (cgroup usage less page cache), from
 * `docker stats --no-stream --format '{{.Name}}\t{{.MemUsage}}'` output: containers are
 * named lvs-lab-<instance>-<node>.
 */
export function containerMemoryByInstance(statsOutput: string, instances: string[]): Record<string, number> {
  const per: Record<string, number> = Object.fromEntries(instances.map((n) => [n, 0]));
  // Longest names first, so that learner-1 does not claim learner-10's containers.
  const byLength = [...instances].sort((a, b) => b.length - a.length);
  for (const line of statsOutput.trim().split("\n")) {
    const [name = "", usage = ""] = line.split("\t");
    const owner = byLength.find((n) => name.startsWith(`lvs-lab-${n}-`) && !name.slice(`lvs-lab-${n}-`.length).includes("-"));
    if (owner) per[owner] = per[owner]! + mib(usage.split("/")[0]!);
  }
  return per;
}

export function dockerStats(dockerHost: string): string {
  return execFileSync("docker", ["stats", "--no-stream", "--format", "{{.Name}}\t{{.MemUsage}}"], {
    encoding: "utf8",
    env: { ...process.env, DOCKER_HOST: dockerHost },
    maxBuffer: 32 << 20,
  });
}

/**
 * Proportional set size (MiB) of the processes whose command line matches, summed: PSS
 * splits shared pages (the binary every shim maps) among their users, so a sum over
 * processes does not count them once per process as RSS would.
 */
export function processPss(matches: (args: string) => boolean): number {
  let sum = 0;
  for (const line of execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" }).split("\n")) {
    const [pid, ...args] = line.trim().split(/\s+/);
    if (!pid || !matches(args.join(" "))) continue;
    try {
      sum += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0) / 1024;
    } catch {
      // The process ended meanwhile.
    }
  }
  return sum;
}

export const isDaemon = (args: string) => /^(\S*\/)?(dockerd|containerd)(\s|$)/.test(args);

/** The containerd shims (one per container, outside its cgroup) of these container ids. */
export const isShimOf = (ids: Set<string>) => (args: string) => /containerd-shim/.test(args) && ids.has(/-id ([0-9a-f]{64})/.exec(args)?.[1] ?? "");

export function memAvailableMiB(): number {
  return Number(/MemAvailable:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? NaN) / 1024;
}

/** Busy and total jiffies over all CPUs: two readings give the utilisation between them. */
export function cpuTimes(): { busy: number; total: number } {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3]! + fields[4]!;
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** CPU seconds a container's cgroup has used (cgroup v1 cpuacct or v2 cpu.stat), 0 when not found. */
export function containerCpuSeconds(id: string): number {
  const v1 = [`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, `/sys/fs/cgroup/cpu,cpuacct/docker/${id}/cpuacct.usage`];
  for (const path of v1) {
    try {
      return Number(readFileSync(path, "utf8")) / 1e9;
    } catch {
      // Another cgroup layout.
    }
  }
  for (const path of [`/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`, `/sys/fs/cgroup/docker/${id}/cpu.stat`]) {
    try {
      return Number(/usage_usec (\d+)/.exec(readFileSync(path, "utf8"))?.[1] ?? 0) / 1e6;
    } catch {
      // Another cgroup layout.
    }
  }
  return 0;
}

/**
 * CPU seconds of the processes whose command line matches, their reaped children
 * included (the short-lived runc of every exec is a child of its shim).
 */
export function processCpuSeconds(matches: (args: string) => boolean): number {
  let ticks = 0;
  for (const line of execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" }).split("\n")) {
    const [pid, ...args] = line.trim().split(/\s+/);
    if (!pid || !matches(args.join(" "))) continue;
    try {
      // Fields after the command's closing parenthesis: utime is the 12th, stime, cutime, cstime follow.
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      ticks += fields.slice(11, 15).reduce((a, f) => a + Number(f), 0);
    } catch {
      // The process ended meanwhile.
    }
  }
  return ticks / 100; // USER_HZ
}

export const isShim = (args: string) => /containerd-shim/.test(args);
