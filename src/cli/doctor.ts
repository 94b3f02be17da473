import { existsSync } from "node:fs";
import type { Command } from "commander";
import { ExitCode, UserError } from "../errors.js";
import { t } from "../i18n/index.js";
import { overlaps, parseCidr } from "../topology/ipv4.js";
import { green, printJson, progressLine, red } from "./output.js";

export type CheckState = "ok" | "warn" | "fail";
export type CheckName = "engine" | "image" | "ip_vs" | "ipip" | "qemu" | "vm" | "addresses" | "leftovers";
export interface DoctorCheck {
  name: CheckName;
  state: CheckState;
  message: string;
  fix?: string;
  /** The engine check: where the engine is and the rule that found it (src/docker/locate.ts). */
  engine?: { host: string; rule: string; context?: string; tls?: boolean };
}

const MARK: Record<CheckState, string> = { ok: green("✔"), warn: "!", fail: red("✘") };

/** Installs Debian's docker.io and starts dockerd in the background, as root on Debian/Ubuntu. */
async function installEngine(): Promise<void> {
  const { execa } = await import("execa");
  const { Engine } = await import("../docker/engine.js");
  progressLine(t("doctor.installingEngine"));
  if (!existsSync("/usr/sbin/dockerd")) {
    await execa("apt-get", ["update", "-qq"]);
    await execa("apt-get", ["install", "-y", "-qq", "docker.io"], { env: { DEBIAN_FRONTEND: "noninteractive" } });
  }
  const logFile = "/var/log/lvs-lab-dockerd.log";
  progressLine(t("doctor.startingDockerd", { log: logFile }));
  const child = execa("dockerd", [], { detached: true, stdin: "ignore", stdout: { file: logFile }, stderr: { file: logFile }, reject: false });
  child.unref();
  const engine = new Engine();
  for (let i = 0; i < 60; i++) {
    if (await engine.info().then(() => true, () => false)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new UserError(t("doctor.dockerdSilent"), t("doctor.dockerdSilentHint"));
}

export async function runDoctor(opts: { vm?: boolean; fix?: boolean }): Promise<DoctorCheck[]> {
  const { engineFor } = await import("../lab/locate.js");
  const { ensureLabImage, labImageRef } = await import("../docker/image.js");
  const { usedIpv4Blocks } = await import("../lab/host.js");
  const { probeKernel } = await import("../lab/kernel.js");
  const { findLeftovers } = await import("../lab/session.js");
  const { loadAllLabs } = await import("../lesson/load.js");
  const { canInstallEngine } = await import("../docker/engine-errors.js");
  const { engineFix, ruleText } = await import("../docker/locate.js");
  const checks: DoctorCheck[] = [];
  let engine: Awaited<ReturnType<typeof engineFor>>;
  try {
    engine = await engineFor(opts);
  } catch (e) {
    // A context or address that cannot be used: the one sentence and its fix.
    if (!(e instanceof UserError)) throw e;
    checks.push({ name: "engine", state: "fail", message: e.message, ...(e.hint ? { fix: e.hint } : {}) });
    return checks;
  }
  let info = await engine.info().catch((e: unknown) => e as Error);
  // Installing docker.io is for a machine without an engine, never beside one that was named or found elsewhere.
  const mayInstall = !opts.vm && ["default-socket", "nothing-found"].includes(engine.location.rule) && canInstallEngine();
  if (info instanceof Error && opts.fix && mayInstall) {
    await installEngine();
    engine = await engineFor(opts);
    info = await engine.info().catch((e: unknown) => e as Error);
  }
  const where = { host: engine.host, rule: engine.location.rule, ...(engine.location.context ? { context: engine.location.context } : {}), ...(engine.location.tls ? { tls: true } : {}) };
  const rule = ruleText(engine.location);
  if (info instanceof Error) {
    const fix = info instanceof UserError && info.hint ? info.hint : engineFix(engine.location, { canInstall: mayInstall });
    checks.push({ name: "engine", state: "fail", message: t("doctor.engineFailed", { error: info.message, rule }), fix, engine: where });
    return checks;
  }
  checks.push({
    name: "engine",
    state: "ok",
    message: t("doctor.engine", { product: info.product, version: info.version, api: info.apiVersion, host: info.host, tls: engine.location.tls ? " (TLS)" : "", rule, kernel: info.kernel }),
    engine: where,
  });

  const ref = labImageRef();
  let hasImage = await engine.imageExists(ref);
  if (!hasImage && opts.fix) {
    await ensureLabImage(engine, (e) => progressLine(`${e.phase}: ${e.line}`));
    hasImage = true;
  }
  checks.push(hasImage ? { name: "image", state: "ok", message: t("doctor.image", { ref }) } : { name: "image", state: "fail", message: t("doctor.noImage", { ref }), fix: t("doctor.imageFix") });

  if (hasImage) {
    const modules = await import("../lab/modules.js");
    const { hasVmLane, noVmLaneLine } = await import("../lab/placement.js");
    const lacking = (r: { ipvs: boolean; ipip: boolean }) => [...(r.ipvs ? [] : ["ip_vs"]), ...(r.ipip ? [] : ["ipip"])];
    let k = await probeKernel(engine, ref);
    // Modules the kernel has but has not loaded: --fix loads them (a script's consent), else the fix says how.
    let report = lacking(k).length ? await modules.reportModules(engine, ref, modules.modulesFor(lacking(k))) : undefined;
    const loadable = (requirement: string) => (report && modules.loadableModules([requirement], report)) ?? [];
    const toLoad = lacking(k).flatMap(loadable);
    if (opts.fix && toLoad.length) {
      progressLine(t("modules.loading", { modules: toLoad.join(" "), kernel: info.kernel }));
      await modules.loadModules(engine, ref, toLoad);
      k = await probeKernel(engine, ref);
      report = lacking(k).length ? await modules.reportModules(engine, ref, modules.modulesFor(lacking(k))) : undefined;
    }
    const vm = await import("../vm/index.js");
    const status = await vm.vmStatus().catch(() => undefined);
    const vmLane = hasVmLane(process.platform);
    const vmNote = t(status?.running ? "doctor.vmRunningNote" : "doctor.vmBootedNote");
    const said = {
      ip_vs: { inVm: "doctor.noIpvs", here: "doctor.noIpvsHere", asModule: "doctor.ipvsLoadable" },
      ipip: { inVm: "doctor.noIpip", here: "doctor.noIpipHere", asModule: "doctor.ipipLoadable" },
    } as const;
    const lacks = (requirement: "ip_vs" | "ipip"): DoctorCheck => {
      const mods = loadable(requirement);
      const kernel = info.kernel;
      if (mods.length) return { name: requirement, state: "warn", message: t(said[requirement].asModule, { kernel }), fix: t("doctor.loadFix", { command: modules.loadCommand(ref, mods) }) };
      if (!vmLane) return { name: requirement, state: "warn", message: t(said[requirement].here, { kernel }), fix: noVmLaneLine(process.platform) };
      return { name: requirement, state: "warn", message: t(said[requirement].inVm, { kernel }), fix: t("doctor.orModprobe", { note: vmNote, module: requirement }) };
    };
    checks.push(k.ipvs ? { name: "ip_vs", state: "ok", message: t("doctor.ipvs", { schedulers: k.schedulers.join(" ") || t("doctor.noSchedulers") }) } : lacks("ip_vs"));
    checks.push(k.ipip ? { name: "ipip", state: "ok", message: t("doctor.ipip") } : lacks("ipip"));
    // The VM is what a kernel that does not have the modules at all needs (on Linux).
    const needsVm = vmLane && lacking(k).some((r) => !loadable(r).length);
    let missing = vm.missingVmTools(status?.built ?? false);
    if (missing.length && needsVm && opts.fix && vm.canInstallWithApt()) {
      await vm.installVmPackages(missing.map((t) => t.package), progressLine);
      missing = vm.missingVmTools(status?.built ?? false);
    }
    if (missing.length) {
      const error = vm.vmToolsError(missing);
      checks.push({ name: "qemu", state: needsVm ? "warn" : "ok", message: needsVm ? error.message : t("doctor.qemuNotNeeded", { tools: missing.map((tool) => tool.command).join(", ") }), ...(needsVm ? { fix: vm.canInstallWithApt() ? "lvs-lab doctor --fix" : error.hint } : {}) });
    } else {
      checks.push({ name: "qemu", state: "ok", message: t("doctor.qemu", { packages: vm.VM_PACKAGES.join(", ") }) });
    }
    checks.push({
      name: "vm",
      state: "ok",
      message: status?.running
        ? t("doctor.vmRunning", { accel: status.accel ?? "?", host: status.dockerHost })
        : t(status?.built ? "doctor.vmBuilt" : "doctor.vmNotBuilt"),
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
      ? { name: "addresses", state: "ok", message: t("doctor.addressesTaken", { blocks: [...taken].join(", ") }) }
      : { name: "addresses", state: "ok", message: t("doctor.addressesFree") },
  );

  const leftovers = await findLeftovers(engine);
  checks.push(
    leftovers.length
      ? { name: "leftovers", state: "warn", message: t("doctor.leftovers", { names: leftovers.join(", ") }), fix: "lvs-lab stop --all" }
      : { name: "leftovers", state: "ok", message: t("doctor.noLeftovers") },
  );
  return checks;
}

export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .description(t("help.doctor.about"))
    .option("--json", t("help.option.json"))
    .option("--fix", t("help.doctor.fix"))
    .option("--vm", t("help.doctor.vm"))
    .option("--lang <lang>", t("help.doctor.lang"))
    .action(async (opts: { json?: boolean; fix?: boolean; vm?: boolean }) => {
      const checks = await runDoctor(opts);
      const failed = checks.some((c) => c.state === "fail");
      if (opts.json) printJson({ ok: !failed, checks });
      else printChecks(checks, (await import("../text/width.js")).padToWidth);
      process.exitCode = failed ? ExitCode.environment : ExitCode.ok;
    });
}

/** One line per check, its name in the learner's language (the JSON keeps the names as they are). */
function printChecks(checks: DoctorCheck[], pad: (text: string, width: number) => string): void {
  for (const c of checks) {
    console.log(`${MARK[c.state]} ${pad(t(`doctor.name.${c.name}`), 10)} ${c.message}${c.fix ? `\n  ${" ".repeat(10)}→ ${c.fix}` : ""}`);
  }
}
