/**
 * What the kernel running the containers can do, asked from a short-lived container: what
 * the engine's host has loaded (modules.ts tells "not loaded" from "not in this kernel").
 * lvs-lab's VM says it in its engine's labels instead (vm/init, after loading the
 * modules): under an emulated CPU that container costs seconds of every start.
 *
 * The check must not load anything itself. Measured on Debian 12's stock kernel (6.1, the
 * VM booted with LVS_LAB_VM_PRELOAD=0): `ip link show tunl0` with NET_ADMIN loads ipip
 * (the kernel's netdev-tunl0 module request) and any ipvsadm call loads ip_vs, so tunl0 is
 * looked for in /proc/net/dev and ipvsadm runs only where /proc/net/ip_vs already exists
 * (a scheduler it tries is then loaded as the learner's ipvsadm would load it).
 */
import type { EngineClient } from "../docker/engine.js";

export const SCHEDULERS = ["rr", "wrr", "lc", "wlc", "sed", "nq", "sh", "dh"] as const;

export interface KernelReport {
  ipvs: boolean;
  ipip: boolean;
  schedulers: string[];
  detail: string;
}

/** Tries every scheduler on a throw-away virtual service in the container's own namespace. */
export const PROBE_SCRIPT = [
  "test -e /proc/net/ip_vs && echo ipvs=yes || echo ipvs=no",
  "grep -q '^ *tunl0:' /proc/net/dev && echo ipip=yes || echo ipip=no",
  "test -e /proc/net/ip_vs || exit 0",
  `for s in ${SCHEDULERS.join(" ")}; do ipvsadm -A -t 10.0.0.1:1 -s $s 2>/dev/null && echo sched=$s && ipvsadm -D -t 10.0.0.1:1; done`,
  "ipvsadm -Ln 2>&1 | head -1",
].join("; ");

/** The engine label in which a host states its report, in PROBE_SCRIPT's words separated by commas. */
export const KERNEL_LABEL = "io.lvs-lab.kernel";

export async function probeKernel(engine: EngineClient, image: string): Promise<KernelReport> {
  const declared = (await engine.labels())[KERNEL_LABEL];
  if (declared) return parseKernelReport(declared.replace(/,/g, "\n"));
  const res = await engine.runOnce(image, ["sh", "-c", PROBE_SCRIPT], "the kernel check container", ["NET_ADMIN"]);
  return parseKernelReport(res.stdout + res.stderr);
}

export function parseKernelReport(output: string): KernelReport {
  return {
    ipvs: /ipvs=yes/.test(output),
    ipip: /ipip=yes/.test(output),
    schedulers: [...output.matchAll(/sched=(\w+)/g)].map((m) => m[1]!),
    detail: output.split("\n").find((l) => /IP Virtual Server|Can't initialize/.test(l)) ?? "",
  };
}

export function missingRequirements(requirements: string[], report: KernelReport): string[] {
  return requirements.filter((r) => (r === "ip_vs" ? !report.ipvs : r === "ipip" ? !report.ipip : false));
}
