/**
 * The only module that talks to the Docker engine. Everything else gets plain data
 * back: no dockerode types leak past this file, so the rest of lvs-lab does not care
 * whether the engine is local or inside the lvs-lab VM.
 */
import Docker from "dockerode";
import type { Readable } from "node:stream";
import { UserError, withTimeout } from "../errors.js";
import { labelFilter } from "./labels.js";
import { collectDemuxed, runThrowAway } from "./throw-away.js";

export { collectDemuxed };

export const DEFAULT_SOCKET = "/var/run/docker.sock";
const CALL_TIMEOUT_MS = 30_000;

export interface EngineInfo {
  host: string;
  version: string;
  apiVersion: string;
  kernel: string;
  os: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface NetworkSpec {
  name: string;
  subnet: string;
  gateway: string;
  labels: Record<string, string>;
  /** Addresses Docker must never hand out, e.g. VIPs the learner adds by hand. */
  reserved: Record<string, string>;
  mtu?: number;
}

export interface ContainerSpec {
  name: string;
  hostname: string;
  image: string;
  labels: Record<string, string>;
  env: Record<string, string>;
  capAdd: string[];
  /** net.* sysctls of the container's own namespace, set by Docker at creation. */
  sysctls: Record<string, string>;
  /** Network name → fixed IPv4 address; the first entry is attached at creation. */
  addresses: Array<{ network: string; ip: string }>;
}

export interface LabContainer {
  id: string;
  name: string;
  state: string;
  labels: Record<string, string>;
}

export interface LabNetwork {
  id: string;
  name: string;
  labels: Record<string, string>;
  subnets: string[];
  /** The engine host's bridge interface of this network (bridge driver only). */
  bridge?: string;
}

/**
 * /proc/sys is read-only in containers by default. Docker's default ReadonlyPaths with
 * /proc/sys replaced by its sub-trees other than net: learners can set ip_forward,
 * arp_ignore and rp_filter, but not kernel.core_pattern or anything else host-wide.
 */
export const READONLY_PATHS = [
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sysrq-trigger",
  "/proc/sys/kernel",
  "/proc/sys/vm",
  "/proc/sys/fs",
  "/proc/sys/dev",
  "/proc/sys/user",
  "/proc/sys/abi",
  "/proc/sys/debug",
];

/** Where the engine is, as the docker CLI understands it (unix:// or tcp://). */
export function resolveDockerHost(explicit?: string): string {
  return explicit || process.env.DOCKER_HOST || `unix://${DEFAULT_SOCKET}`;
}

export function engineOptions(dockerHost: string): Docker.DockerOptions {
  if (dockerHost.startsWith("unix://")) return { socketPath: dockerHost.slice("unix://".length) || DEFAULT_SOCKET };
  if (dockerHost.startsWith("/")) return { socketPath: dockerHost };
  const match = /^(tcp|http|https):\/\/([^:/]+|\[[^\]]+\])(?::(\d+))?\/?$/.exec(dockerHost);
  if (!match) {
    throw new UserError(
      `DOCKER_HOST "${dockerHost}" is not understood.`,
      "Use unix:///var/run/docker.sock or tcp://HOST:PORT.",
    );
  }
  const [, scheme, host, port] = match;
  const protocol = scheme === "https" ? "https" : "http";
  return { protocol, host, port: Number(port ?? (protocol === "https" ? 2376 : 2375)) };
}

export interface ExecOptions {
  timeoutMs?: number;
  /** Named in the timeout message: what the call was waiting for. */
  what?: string;
}

/**
 * What lab sessions need from an engine: containers, networks and commands in them.
 * Engine is the real one; tests use a small in-memory fake (test/helpers/fake-engine.ts).
 */
export interface EngineClient {
  readonly host: string;
  isLocal(): boolean;
  info(): Promise<EngineInfo>;
  imageExists(ref: string): Promise<boolean>;
  listContainers(instance?: string): Promise<LabContainer[]>;
  listNetworks(instance?: string): Promise<LabNetwork[]>;
  usedSubnets(): Promise<string[]>;
  createNetwork(spec: NetworkSpec): Promise<string>;
  createContainer(spec: ContainerSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  removeContainer(id: string): Promise<void>;
  removeNetwork(id: string): Promise<void>;
  exec(id: string, cmd: string[], opts?: ExecOptions & { env?: Record<string, string> }): Promise<ExecResult>;
  /** A shell script, passed in the environment so that its text is not in any command line. */
  execScript(id: string, script: string, opts?: ExecOptions & { errexit?: boolean }): Promise<ExecResult>;
  /** A short-lived container without network that runs one command and is removed. */
  runOnce(image: string, cmd: string[], what: string, capAdd?: string[]): Promise<ExecResult>;
  /**
   * A short-lived container in the engine host's own network namespace, with NET_ADMIN and
   * NET_RAW, that runs a shell script (errexit) and is removed: the host's firewall, on a
   * local engine and inside the VM alike.
   */
  runOnHost(image: string, script: string, what: string): Promise<ExecResult>;
  buildImage(context: string, files: string[], tag: string, buildArgs: Record<string, string>, labels: Record<string, string>, onLine: (line: string) => void): Promise<void>;
  importImage(tarball: Readable, repo: string, tag: string): Promise<void>;
  pullImage(ref: string): Promise<void>;
}

export class Engine implements EngineClient {
  private readonly docker: Docker;

  constructor(readonly host: string = resolveDockerHost()) {
    this.docker = new Docker(engineOptions(host));
  }

  /** A unix socket means the engine shares this machine's routes (tcp may be a VM). */
  isLocal(): boolean {
    return this.host.startsWith("unix://") || this.host.startsWith("/");
  }

  /**
   * An engine reached over tcp is usually the lvs-lab VM, whose emulated CPU starts a
   * container in seconds rather than milliseconds: it gets four times the patience.
   */
  private patience(ms: number): number {
    return this.isLocal() ? ms : ms * 4;
  }

  private call<T>(work: Promise<T>, what: string, ms = CALL_TIMEOUT_MS): Promise<T> {
    return withTimeout(work, this.patience(ms), `the Docker engine at ${this.host} (${what})`).catch((e: unknown) => {
      throw translateEngineError(e, this.host);
    });
  }

  async info(): Promise<EngineInfo> {
    const [version, info] = await this.call(
      Promise.all([this.docker.version(), this.docker.info() as Promise<{ KernelVersion: string; OperatingSystem: string }>]),
      "version",
      8_000,
    );
    return {
      host: this.host,
      version: version.Version,
      apiVersion: version.ApiVersion,
      kernel: info.KernelVersion,
      os: info.OperatingSystem,
    };
  }

  async imageExists(ref: string): Promise<boolean> {
    try {
      await this.call(this.docker.getImage(ref).inspect(), `inspect image ${ref}`);
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  async listContainers(instance?: string): Promise<LabContainer[]> {
    const list = await this.call(
      this.docker.listContainers({ all: true, filters: labelFilter(instance) }),
      "list containers",
    );
    return list.map((c) => ({ id: c.Id, name: (c.Names[0] ?? "").replace(/^\//, ""), state: c.State, labels: c.Labels }));
  }

  async listNetworks(instance?: string): Promise<LabNetwork[]> {
    const list = await this.call(this.docker.listNetworks({ filters: labelFilter(instance) }), "list networks");
    return list.map(toLabNetwork);
  }

  /** Subnets of every network on the engine, lvs-lab's or not: the allocator must avoid them all. */
  async usedSubnets(): Promise<string[]> {
    const list = await this.call(this.docker.listNetworks(), "list networks");
    return list.flatMap((n) => toLabNetwork(n).subnets);
  }

  async createNetwork(spec: NetworkSpec): Promise<string> {
    const options: Record<string, string> = {
      "com.docker.network.bridge.enable_ip_masquerade": "false",
    };
    if (spec.mtu) options["com.docker.network.driver.mtu"] = String(spec.mtu);
    const net = await this.call(
      this.docker.createNetwork({
        Name: spec.name,
        Driver: "bridge",
        CheckDuplicate: true,
        Labels: spec.labels,
        Options: options,
        IPAM: {
          Driver: "default",
          Config: [{ Subnet: spec.subnet, Gateway: spec.gateway, AuxiliaryAddresses: spec.reserved }],
        },
      }),
      `create network ${spec.name}`,
    );
    return net.id;
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    const [first, ...rest] = spec.addresses;
    const container = await this.call(
      this.docker.createContainer({
        name: spec.name,
        Hostname: spec.hostname,
        Image: spec.image,
        Labels: spec.labels,
        Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
        HostConfig: {
          CapDrop: ["ALL"],
          CapAdd: spec.capAdd,
          Privileged: false,
          ReadonlyPaths: READONLY_PATHS,
          Sysctls: spec.sysctls,
          SecurityOpt: ["no-new-privileges"],
          NetworkMode: first?.network,
          Init: false,
        } as Docker.HostConfig,
        NetworkingConfig: first
          ? { EndpointsConfig: { [first.network]: { IPAMConfig: { IPv4Address: first.ip } } } }
          : undefined,
      }),
      `create container ${spec.name}`,
    );
    for (const extra of rest) {
      await this.call(
        this.docker.getNetwork(extra.network).connect({
          Container: container.id,
          EndpointConfig: { IPAMConfig: { IPv4Address: extra.ip } },
        }),
        `connect ${spec.name} to ${extra.network}`,
      );
    }
    return container.id;
  }

  async startContainer(id: string): Promise<void> {
    await this.call(this.docker.getContainer(id).start(), `start container ${id.slice(0, 12)}`);
  }

  async killContainer(id: string): Promise<void> {
    await this.call(this.docker.getContainer(id).kill(), `kill container ${id.slice(0, 12)}`);
  }

  /** Idempotent: a container that is already gone is not an error. */
  async removeContainer(id: string): Promise<void> {
    try {
      await this.call(this.docker.getContainer(id).remove({ force: true, v: true }), `remove container ${id.slice(0, 12)}`);
    } catch (e) {
      if (!isNotFound(e) && !isAlreadyBeingRemoved(e)) throw e;
    }
  }

  async removeNetwork(id: string): Promise<void> {
    try {
      await this.call(this.docker.getNetwork(id).remove(), `remove network ${id.slice(0, 12)}`);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /**
   * Runs a shell script in a container. The script travels in the environment, not on the
   * command line, so `pkill -f NAME` in it cannot match (and kill) its own shell.
   */
  async execScript(id: string, script: string, opts: ExecOptions & { errexit?: boolean } = {}): Promise<ExecResult> {
    return this.exec(id, ["sh", opts.errexit ? "-ec" : "-c", 'eval "$LVS_LAB_SCRIPT"'], { ...opts, env: { LVS_LAB_SCRIPT: script } });
  }

  /**
   * Runs a command in a container and returns its exit code and separated output.
   * The command also runs under coreutils `timeout` inside the container, so a hung
   * probe never outlives its caller.
   */
  async exec(id: string, cmd: string[], opts: ExecOptions & { env?: Record<string, string> } = {}): Promise<ExecResult> {
    const timeoutMs = this.patience(opts.timeoutMs ?? 15_000);
    const what = opts.what ?? `"${cmd.join(" ")}" in ${id.slice(0, 12)}`;
    const run = async (): Promise<ExecResult> => {
      const exec = await this.docker.getContainer(id).exec({
        Cmd: ["timeout", "-k", "1", String(Math.ceil(timeoutMs / 1000)), ...cmd],
        Env: Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`),
        AttachStdout: true,
        AttachStderr: true,
      });
      const stream = await exec.start({ hijack: true, stdin: false });
      const { stdout, stderr } = await collectDemuxed(stream, this.docker.modem);
      const inspected = await exec.inspect();
      return { exitCode: inspected.ExitCode ?? -1, stdout, stderr };
    };
    return withTimeout(run(), timeoutMs + 5_000, what).catch((e: unknown) => {
      throw translateEngineError(e, this.host);
    });
  }

  // --- images -------------------------------------------------------------------------

  async buildImage(
    context: string,
    files: string[],
    tag: string,
    buildArgs: Record<string, string>,
    labels: Record<string, string>,
    onLine: (line: string) => void,
  ): Promise<void> {
    const stream = await this.call(
      this.docker.buildImage({ context, src: files }, { t: tag, buildargs: buildArgs, labels, rm: true, forcerm: true }),
      "start image build",
    );
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err: Error | null, output: Array<{ error?: string }>) => {
          const failed = output?.find((o) => o.error);
          if (err || failed) reject(new UserError(`Building the lab image failed: ${err?.message ?? failed?.error}`));
          else resolve();
        },
        (event: { stream?: string; status?: string }) => {
          const text = (event.stream ?? event.status ?? "").trim();
          if (text) onLine(text);
        },
      );
    });
  }

  async importImage(tarball: Readable, repo: string, tag: string): Promise<void> {
    const stream = await this.call(this.docker.importImage(tarball as unknown as string, { repo, tag }), "import base image", 600_000);
    await new Promise<void>((resolve, reject) => this.docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())));
  }

  async pullImage(ref: string): Promise<void> {
    const stream = await this.call(this.docker.pull(ref), `pull ${ref}`);
    await new Promise<void>((resolve, reject) => this.docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())));
  }

  async saveImage(ref: string): Promise<Readable> {
    return (await this.call(this.docker.getImage(ref).get(), `save image ${ref}`)) as Readable;
  }

  async loadImage(tarball: Readable): Promise<void> {
    const stream = await this.call(this.docker.loadImage(tarball), "load image", 900_000);
    await new Promise<void>((resolve, reject) => {
      stream.on("data", () => undefined);
      stream.on("end", resolve);
      stream.on("error", reject);
    });
  }

  async imageLabels(ref: string): Promise<Record<string, string> | undefined> {
    try {
      const info = await this.call(this.docker.getImage(ref).inspect(), `inspect image ${ref}`);
      return info.Config?.Labels ?? {};
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async listImages(repo: string): Promise<string[]> {
    const images = await this.call(this.docker.listImages({ filters: { reference: [repo] } }), "list images");
    return images.flatMap((i) => i.RepoTags ?? []);
  }

  async removeImage(ref: string): Promise<void> {
    await this.call(this.docker.getImage(ref).remove(), `remove image ${ref}`);
  }

  /** Runs a throw-away container (no network) and returns what it printed. */
  async runOnce(image: string, cmd: string[], what: string, capAdd: string[] = []): Promise<ExecResult> {
    return runThrowAway(this.docker, (w, m) => this.call(w, m), { Image: image, Cmd: cmd, HostConfig: { CapAdd: capAdd, NetworkMode: "none", ReadonlyPaths: READONLY_PATHS } }, what);
  }

  async runOnHost(image: string, script: string, what: string): Promise<ExecResult> {
    const HostConfig = { CapAdd: ["NET_ADMIN", "NET_RAW"], NetworkMode: "host", ReadonlyPaths: READONLY_PATHS, SecurityOpt: ["no-new-privileges"] };
    // The script travels in the environment, as in execScript.
    const config = { Image: image, Cmd: ["sh", "-ec", 'eval "$LVS_LAB_SCRIPT"'], Env: [`LVS_LAB_SCRIPT=${script}`], HostConfig };
    return runThrowAway(this.docker, (w, m) => this.call(w, m), config, what);
  }

  /** The image's content id (sha256:…), or undefined if the engine has no such image. Used by src/vm to key its data disk. */
  async imageId(ref: string): Promise<string | undefined> {
    try {
      return (await this.call(this.docker.getImage(ref).inspect(), `inspect image ${ref}`)).Id;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }
}

function toLabNetwork(n: Docker.NetworkInspectInfo): LabNetwork {
  return {
    id: n.Id,
    name: n.Name,
    labels: n.Labels ?? {},
    subnets: (n.IPAM?.Config ?? []).map((c) => c.Subnet).filter((s): s is string => Boolean(s)),
    bridge: n.Driver === "bridge" ? bridgeInterface(n) : undefined,
  };
}

/** Docker's bridge driver names the host interface br-<first 12 of the id> unless the network names it. */
function bridgeInterface(n: Docker.NetworkInspectInfo): string {
  return n.Options?.["com.docker.network.bridge.name"] ?? `br-${n.Id.slice(0, 12)}`;
}

function statusCode(e: unknown): number | undefined {
  return typeof e === "object" && e !== null && "statusCode" in e ? (e as { statusCode: number }).statusCode : undefined;
}

export function isNotFound(e: unknown): boolean {
  return statusCode(e) === 404;
}

function isAlreadyBeingRemoved(e: unknown): boolean {
  return statusCode(e) === 409 && /already in progress/.test(String((e as Error).message));
}

/** Turns the engine's low-level failures into one sentence a learner can act on. */
export function translateEngineError(e: unknown, host: string): unknown {
  if (e instanceof UserError) return e;
  const code = typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : "";
  if (["ENOENT", "ECONNREFUSED", "EACCES", "ENOTFOUND", "EHOSTUNREACH", "ECONNRESET", "EAI_AGAIN"].includes(code)) {
    const why = code === "EACCES" ? "permission denied" : code === "ENOENT" ? "no socket there" : code.toLowerCase();
    return new UserError(
      `The Docker engine at ${host} is not reachable (${why}).`,
      "Start it (e.g. `systemctl start docker` or `lvs-lab doctor --fix`), or point DOCKER_HOST at a running engine.",
    );
  }
  return e;
}
