/**
 * What every command needs: the engine to talk to and the instance it is about.
 * An instance remembers its engine (local or the VM), so later commands find it again.
 */
import { Engine, resolveDockerHost } from "../docker/engine.js";
import { instanceContainers, listInstances } from "../docker/instance.js";
import { UserError } from "../errors.js";
import { t } from "../i18n/index.js";
import type { FoundInstance } from "../lab/session.js";
import { readInstanceRecord } from "../state/instances.js";

export interface GlobalOptions {
  vm?: boolean;
  json?: boolean;
  debug?: boolean;
}

/** The engine for new work: the VM's with --vm, else DOCKER_HOST or the local socket. */
export async function engineFor(opts: GlobalOptions): Promise<Engine> {
  if (opts.vm) {
    const { vmDockerHost } = await import("../vm/index.js");
    const host = await vmDockerHost();
    if (!host) throw new UserError(t("errors.vmNotRunning"), t("errors.vmNotRunningHint"));
    return new Engine(host);
  }
  return new Engine(resolveDockerHost());
}

/** Every engine that may hold instances: the default one and, when it runs, the VM's. */
export async function knownEngines(): Promise<Engine[]> {
  const engines = [new Engine(resolveDockerHost())];
  const { vmDockerHost } = await import("../vm/index.js");
  const vmHost = await vmDockerHost().catch(() => undefined);
  if (vmHost && vmHost !== engines[0]!.host) engines.push(new Engine(vmHost));
  return engines;
}

/**
 * " --name X" for commands printed for the learner, where a bare command would not find this
 * instance. The other instances come from the records `start` keeps, not from the engines:
 * asking the VM's engine takes seconds, and every check prints such a command. A record a
 * crash left behind only adds a --name that still works.
 */
export async function nameFlagFor(name: string, lab: string): Promise<string> {
  const [{ instanceFlag }, { recordedInstanceNames }] = await Promise.all([import("../lab/instance-flag.js"), import("../state/instances.js")]);
  return instanceFlag(name, lab, await recordedInstanceNames());
}

/** An instance recorded in the VM that is no longer running went with it: say that, not "engine unreachable". */
async function refuseGoneVm(name: string, lab: string, dockerHost: string): Promise<void> {
  const { isVmDockerHost, vmStatus } = await import("../vm/index.js");
  if (dockerHost === resolveDockerHost() || !isVmDockerHost(dockerHost)) return;
  const vm = await vmStatus();
  if (vm.running && vm.dockerHost === dockerHost) return;
  const { deleteInstanceRecord } = await import("../state/instances.js");
  await deleteInstanceRecord(name);
  const how = vm.stoppedIdle
    ? t("errors.vmGoneIdle", { at: vm.stoppedIdle.at, minutes: vm.stoppedIdle.idleMinutes })
    : t(vm.running ? "errors.vmGoneRestarted" : "errors.vmGoneStopped");
  throw new UserError(t("errors.vmGone", { name, how }), t("errors.vmGoneHint", { lab, flag: name !== lab ? ` --name ${name}` : "" }));
}

/** The engine where an instance of this name has containers: its record's first, then every known engine. */
export async function instanceEngine(name: string): Promise<Engine | undefined> {
  const record = await readInstanceRecord(name);
  const candidates = record ? [new Engine(record.dockerHost)] : [];
  for (const e of await knownEngines()) if (!candidates.some((c) => c.host === e.host)) candidates.push(e);
  for (const e of candidates) {
    if ((await e.listContainers(name).catch(() => [])).length) return e;
  }
  return undefined;
}

/**
 * The instance a command is about: --name, else the lab's default instance, else the
 * only one running. Several running and none named is a question for the learner.
 */
export async function targetInstance(name: string | undefined): Promise<FoundInstance & { engine: Engine }> {
  let chosen = name;
  let engine: Engine | undefined;
  if (!chosen) {
    const all = (await Promise.all((await knownEngines()).map(async (e) => (await listInstances(e).catch(() => [])).map((i) => ({ i, e }))))).flat();
    if (all.length === 0) throw new UserError(t("errors.noneRunning"), t("errors.noneRunningHint"));
    if (all.length > 1) throw new UserError(t("errors.severalRunning", { names: all.map((x) => x.i.name).join(", ") }));
    chosen = all[0]!.i.name;
    engine = all[0]!.e;
  }
  const record = await readInstanceRecord(chosen);
  if (!engine && record) await refuseGoneVm(chosen, record.lab, record.dockerHost);
  engine ??= record ? new Engine(record.dockerHost) : new Engine(resolveDockerHost());
  const containers = await instanceContainers(engine, chosen);
  if (!Object.keys(containers).length) {
    throw new UserError(t("errors.noInstance", { name: chosen }), t("errors.noInstanceHint"));
  }
  return { name: chosen, engine, containers };
}
