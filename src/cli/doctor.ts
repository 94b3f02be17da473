import { existsSync } from "node:fs";
import type { Command } from "commander";
import { ExitCode, UserError } from "../errors.js";
import { overlaps, parseCidr } from "../topology/ipv4.js";
import { green, printJson, progressLine, red } from "./output.js";

export type CheckState = "ok" | "warn" | "fail";
export interface DoctorCheck {
  name: string;
  state: CheckState;
  message: string;
  fix?: string;
}

const MARK: Record<CheckState, string> = { ok: green("✔"), warn: "!", fail: red("✘") };

async function canInstallEngine(): Promise<boolean> {
  return process.getuid?.() === 0 && existsSync("/etc/debian_version");
}

/** Installs Debian's docker.io and starts dockerd in the background, as root on Debian/Ubuntu. */
async function installEngine(): Promise<void> {
  const { execa } = await import("execa");
  const { Engine, resolveDockerHost } = await import("../docker/engine.js");
  progressLine("installing docker.io (apt-get)…");
  if (!existsSync("/usr/sbin/dockerd")) {
    await execa("apt-get", ["update", "-qq"]);
    await execa("apt-get", ["install", "-y", "-qq", "docker.io"], { env: { DEBIAN_FRONTEND: "noninteractive" } });
  }
  const logFile = "/var/log/lvs-lab-dockerd.log";
  progressLine(`starting dockerd (log: ${logFile})…`);
  const child = execa("dockerd", [], { detached: true, stdin: "ignore", stdout: { file: logFile }, stderr: { file: logFile }, reject: false });
  child.unref();
  const engine = new Engine(resolveDockerHost());
  for (let i = 0; i < 60; i++) {
    if (await engine.info().then(() => true, () => false)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new UserError("dockerd was started but did not answer within 30 s.", "See `journalctl -u docker` or run `dockerd` by hand to read its error.");
}

export async function runDoctor(opts: { vm?: boolean; fix?: boolean }): Promise<DoctorCheck[]> {
  const { engineFor } = await import("./context.js");
  const { ensureLabImage, labImageRef } = await import("../docker/image.js");
  const { usedIpv4Blocks } = await import("../lab/host.js");
  const { probeKernel } = await import("../lab/kernel.js");
  const { findLeftovers } = await import("../lab/session.js");
  const { loadAllLabs } = await import("../lesson/load.js");
  const checks: DoctorCheck[] = [];
  let engine = await engineFor(opts);
  let info = await engine.info().catch((e: unknown) => e as Error);
  if (info instanceof Error && opts.fix && !opts.vm && (await canInstallEngine())) {
    await installEngine();
    engine = await engineFor(opts);
    info = await engine.info().catch((e: unknown) => e as Error);
  }
  if (info instanceof Error) {
    const fix = (await canInstallEngine())
      ? "run `lvs-lab doctor --fix` (installs Debian's docker.io and starts dockerd)"
      : "install Docker and start it (https://docs.docker.com/engine/install/), or set DOCKER_HOST";
    checks.push({ name: "engine", state: "fail", message: info.message, fix });
    return checks;
  }
  checks.push({ name: "engine", state: "ok", message: `Docker ${info.version} (API ${info.apiVersion}) at ${info.host}, kernel ${info.kernel}` });

  const ref = labImageRef();
  let hasImage = await engine.imageExists(ref);
  if (!hasImage && opts.fix) {
    await ensureLabImage(engine, (e) => progressLine(`${e.phase}: ${e.line}`));
    hasImage = true;
  }
  checks.push(hasImage ? { name: "image", state: "ok", message: `${ref} present` } : { name: "image", state: "fail", message: `${ref} is not built`, fix: "lvs-lab image build (or lvs-lab doctor --fix)" });

  if (hasImage) {
    const k = await probeKernel(engine, ref);
    const vm = await import("../vm/index.js");
    const status = await vm.vmStatus().catch(() => undefined);
    const vmNote = `nothing to do: \`lvs-lab start <lab>\` uses lvs-lab's VM (${status?.running ? "running now" : "booted when a lab needs it"})`;
    checks.push(
      k.ipvs
        ? { name: "ip_vs", state: "ok", message: `IPVS available; schedulers ${k.schedulers.join(" ") || "none loaded"}` }
        : { name: "ip_vs", state: "warn", message: `the kernel ${info.kernel} has no IPVS (ip_vs): the LVS labs run in lvs-lab's VM`, fix: `${vmNote}; or modprobe ip_vs on the Docker host` },
    );
    checks.push(
      k.ipip
        ? { name: "ipip", state: "ok", message: "IP-in-IP (ipip, tunl0) available" }
        : { name: "ipip", state: "warn", message: `the kernel ${info.kernel} has no ipip: the tun lab runs in lvs-lab's VM`, fix: `${vmNote}; or modprobe ipip on the Docker host` },
    );
    const needsVm = !k.ipvs || !k.ipip;
    let missing = vm.missingVmTools(status?.built ?? false);
    if (missing.length && needsVm && opts.fix && vm.canInstallWithApt()) {
      await vm.installVmPackages(missing.map((t) => t.package), progressLine);
      missing = vm.missingVmTools(status?.built ?? false);
    }
    if (missing.length) {
      const error = vm.vmToolsError(missing);
      checks.push({ name: "qemu", state: needsVm ? "warn" : "ok", message: needsVm ? error.message : `${missing.map((t) => t.command).join(", ")} not installed (only needed where the kernel lacks ip_vs or ipip)`, ...(needsVm ? { fix: vm.canInstallWithApt() ? "lvs-lab doctor --fix" : error.hint } : {}) });
    } else {
      checks.push({ name: "qemu", state: "ok", message: `the VM's tools are installed (${vm.VM_PACKAGES.join(", ")})` });
    }
    checks.push({
      name: "vm",
      state: "ok",
      message: status?.running
        ? `running (${status.accel ?? "?"}), engine at ${status.dockerHost}`
        : status?.built
          ? "built, not running (a start that needs it boots it)"
          : "not built (the first start that needs it builds it from Debian packages)",
    });
  }

  const used = (await usedIpv4Blocks(engine)).map(parseCidr);
  const labs = await loadAllLabs();
  const taken = new Set<string>();
  for (const { topology } of labs) {
    for (const net of Object.values(topology.networks)) if (used.some((u) => overlaps(u, parseCidr(net.subnet)))) taken.add(net.subnet);
  }
  checks.push(
    taken.size
      ? { name: "addresses", state: "ok", message: `${[...taken].join(", ")} in use (other labs or host routes): new instances will get other free blocks` }
      : { name: "addresses", state: "ok", message: "the labs' preferred address blocks are free" },
  );

  const leftovers = await findLeftovers(engine);
  checks.push(
    leftovers.length
      ? { name: "leftovers", state: "warn", message: `broken or half-built instances: ${leftovers.join(", ")}`, fix: "lvs-lab stop --all" }
      : { name: "leftovers", state: "ok", message: "no leftovers of crashed runs" },
  );
  return checks;
}

export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .description("check the engine, the lab image, the kernel (ip_vs, ipip) and addresses")
    .option("--json", "machine-readable output")
    .option("--fix", "install and start the engine, build the image and, where the kernel lacks ip_vs, install QEMU (Debian/Ubuntu, root)")
    .option("--vm", "check the lvs-lab VM's engine")
    .action(async (opts: { json?: boolean; fix?: boolean; vm?: boolean }) => {
      const checks = await runDoctor(opts);
      const failed = checks.some((c) => c.state === "fail");
      if (opts.json) printJson({ ok: !failed, checks });
      else for (const c of checks) console.log(`${MARK[c.state]} ${c.name.padEnd(10)} ${c.message}${c.fix ? `\n  ${" ".repeat(10)}→ ${c.fix}` : ""}`);
      process.exitCode = failed ? ExitCode.environment : ExitCode.ok;
    });
}
