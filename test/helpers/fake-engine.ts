/**
 * An in-memory engine for session tests: containers and networks with their labels, and
 * commands answered the way the lab image would answer the ones sessions send (interface
 * addresses, listening ports, the kernel check). Everything else succeeds and is logged.
 */
import type { ContainerSpec, EngineClient, EngineInfo, ExecResult, LabContainer, LabNetwork, NetworkSpec } from "../../src/docker/engine.js";
import { LABEL } from "../../src/docker/labels.js";

interface FakeContainer extends LabContainer {
  spec: ContainerSpec;
}

export interface FakeEngineOptions {
  /** Kernel modules the engine's kernel has. */
  modules?: Array<"ip_vs" | "ipip">;
  /** Answers a script before the defaults do (return undefined to fall through). */
  answer?: (node: string, script: string) => ExecResult | undefined;
  /** What the engine host's firewall helper answers (default: success). */
  onHost?: (script: string) => ExecResult | undefined;
}

const ok = (stdout = ""): ExecResult => ({ exitCode: 0, stdout, stderr: "" });

export class FakeEngine implements EngineClient {
  readonly host = "unix:///fake/docker.sock";
  readonly containers = new Map<string, FakeContainer>();
  readonly networks = new Map<string, LabNetwork>();
  readonly images = new Set<string>();
  /** Every script run, as "node: script". */
  readonly log: string[] = [];
  /** Every script run on the engine's host (runOnHost), in order. */
  readonly hostScripts: string[] = [];
  private next = 1;

  constructor(private readonly opts: FakeEngineOptions = {}) {}

  private id(kind: string): string {
    return `${kind}${String(this.next++).padStart(12, "0")}`;
  }

  isLocal(): boolean {
    return false;
  }
  async info(): Promise<EngineInfo> {
    return { host: this.host, product: "Docker", version: "fake", apiVersion: "1.41", kernel: "6.1.0-fake", os: "Fake" };
  }
  async labels(): Promise<Record<string, string>> {
    return {};
  }
  async imageExists(ref: string): Promise<boolean> {
    return this.images.has(ref);
  }
  async buildImage(_context: string, _files: string[], tag: string): Promise<void> {
    this.images.add(tag);
  }
  async importImage(_tarball: unknown, repo: string, tag: string): Promise<void> {
    this.images.add(`${repo}:${tag}`);
  }
  async pullImage(ref: string): Promise<void> {
    this.images.add(ref);
  }
  async listContainers(instance?: string): Promise<LabContainer[]> {
    return [...this.containers.values()].filter((c) => !instance || c.labels[LABEL.instance] === instance).map(({ spec: _spec, ...c }) => c);
  }
  async listNetworks(instance?: string): Promise<LabNetwork[]> {
    return [...this.networks.values()].filter((n) => !instance || n.labels[LABEL.instance] === instance);
  }
  async usedSubnets(): Promise<string[]> {
    return [...this.networks.values()].flatMap((n) => n.subnets);
  }
  async createNetwork(spec: NetworkSpec): Promise<string> {
    if ([...this.networks.values()].some((n) => n.name === spec.name)) throw new Error(`network with name ${spec.name} already exists`);
    if ([...this.networks.values()].some((n) => n.subnets.includes(spec.subnet))) throw new Error(`Pool overlaps with other one on this address space`);
    const id = this.id("net");
    this.networks.set(id, { id, name: spec.name, labels: spec.labels, subnets: [spec.subnet], bridge: `br-${id.slice(-12)}` });
    return id;
  }
  async createContainer(spec: ContainerSpec): Promise<string> {
    const id = this.id("ctr");
    this.containers.set(id, { id, name: spec.name, state: "created", labels: spec.labels, spec });
    return id;
  }
  async startContainer(id: string): Promise<void> {
    this.container(id).state = "running";
  }
  async restartContainer(id: string): Promise<void> {
    this.container(id).state = "running";
  }
  async removeContainer(id: string): Promise<void> {
    this.containers.delete(id);
  }
  async removeNetwork(id: string): Promise<void> {
    this.networks.delete(id);
  }
  async runOnce(): Promise<ExecResult> {
    const modules = this.opts.modules ?? [];
    return ok(`ipvs=${modules.includes("ip_vs") ? "yes" : "no"}\nipip=${modules.includes("ipip") ? "yes" : "no"}\n${modules.includes("ip_vs") ? "sched=rr\n" : ""}`);
  }
  /** The modules report of a kernel that has exactly `modules` loaded and nothing else; loading is refused. */
  async runWithHostModules(_image: string, script: string, _what: string, opts: { load: boolean }): Promise<ExecResult> {
    this.hostScripts.push(script);
    if (opts.load) return { exitCode: 1, stdout: "", stderr: "modprobe: ERROR: could not insert modules: Operation not permitted\n" };
    const names = /for m in ([^;]*); do/.exec(script)?.[1]?.split(" ") ?? [];
    const loaded = (m: string) => (this.opts.modules ?? []).some((have) => m === have || m.startsWith(`${have}_`));
    return ok(["kernel=6.1.0-fake", ...names.map((m) => `${m}=${loaded(m) ? "loaded" : "absent"}`)].join("\n"));
  }
  async runOnHost(_image: string, script: string): Promise<ExecResult> {
    this.hostScripts.push(script);
    return this.opts.onHost?.(script) ?? ok();
  }
  async exec(id: string, cmd: string[]): Promise<ExecResult> {
    return this.run(id, cmd.join(" "));
  }
  async execScript(id: string, script: string): Promise<ExecResult> {
    return this.run(id, script);
  }

  /** The node name of a container, from its label. */
  nodeOf(id: string): string {
    return this.container(id).labels[LABEL.node] ?? "?";
  }

  private container(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (!c) throw new Error(`No such container: ${id}`);
    return c;
  }

  private run(id: string, script: string): ExecResult {
    const c = this.container(id);
    if (c.state !== "running") throw new Error(`Container ${id} is not running`);
    const node = this.nodeOf(id);
    this.log.push(`${node}: ${script}`);
    const answered = this.opts.answer?.(node, script);
    if (answered) return answered;
    if (script === "ip -o -4 addr show") {
      // eth0, eth1 … in the order of the container's networks, as Docker attaches them.
      return ok(c.spec.addresses.map((a, i) => `${i + 2}: eth${i}    inet ${a.ip}/24 brd 0.0.0.0 scope global eth${i}\\       valid_lft forever preferred_lft forever`).join("\n"));
    }
    if (script === "ss -Hltn") {
      const ports = (c.spec.env.LVS_LAB_SERVE_PORTS ?? "").split(" ").filter(Boolean);
      return ok(ports.map((p) => `LISTEN 0 5 0.0.0.0:${p} 0.0.0.0:*`).join("\n") + "\n");
    }
    return ok();
  }
}
