/**
 * The only module that talks to the Docker engine (through dockerode, api.ts). Everything
 * else gets plain data back, so the rest of lvs-lab does not care whether the engine is
 * local, remote (tcp, TLS, ssh) or inside the lvs-lab VM.
 */
import type { Duplex, Readable } from "node:stream";
import { UserError, withTimeout } from "../errors.js";
import { t } from "../i18n/index.js";
import { collectOutput, followProgress, loadDockerode, openDocker, readAll, type Docker } from "./api.js";
import { isAlreadyBeingRemoved, isNotFound, translateEngineError } from "./engine-errors.js";
import { ExecAgent } from "./exec-agent.js";
import { labelFilter } from "./labels.js";
import { DEFAULT_SOCKET, locatedEngine, locationOf, type EngineLocation, type EngineRule } from "./locate.js";
import { runThrowAway } from "./throw-away.js";

export { DEFAULT_SOCKET };
export type { EngineLocation, EngineRule };
const CALL_TIMEOUT_MS = 30_000;

export interface EngineInfo {
  host: string;
  /** "Docker", "Podman": the product the engine says it is. */
  product: string;
  version: string;
  apiVersion: string;
  kernel: string;
  os: string;
}

/** dockerd's labels ("key=value" strings in /info) as a record. */
export function engineLabels(list: string[] | null | undefined): Record<string, string> {
  return Object.fromEntries(
    (list ?? []).map((label) => {
      const eq = label.indexOf("=");
      return eq < 0 ? [label, ""] : [label.slice(0, eq), label.slice(eq + 1)];
    }),
  );
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

/** Where this process's engine is (src/docker/locate.ts), as DOCKER_HOST spells it. */
export function resolveDockerHost(explicit?: string): string {
  return explicit || locatedEngine().host;
}

export interface ExecOptions {
  timeoutMs?: number;
  /** Named in the timeout message: what the call was waiting for. */
  what?: string;
  /**
   * The only command this process sends the container (`lvs-lab exec`): a docker exec of
   * its own, since opening the container's command runner would cost one more.
   */
  once?: boolean;
}

/**
 * What lab sessions need from an engine: containers, networks and commands in them.
 * Engine is the real one; tests use a small in-memory fake (test/helpers/fake-engine.ts).
 */
export interface EngineClient {
  readonly host: string;
  isLocal(): boolean;
  info(): Promise<EngineInfo>;
  /** The engine's own labels (dockerd --label key=value), fixed for the daemon's life: asked once. */
  labels(): Promise<Record<string, string>>;
  imageExists(ref: string): Promise<boolean>;
  listContainers(instance?: string): Promise<LabContainer[]>;
  listNetworks(instance?: string): Promise<LabNetwork[]>;
  usedSubnets(): Promise<string[]>;
  createNetwork(spec: NetworkSpec): Promise<string>;
  createContainer(spec: ContainerSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  restartContainer(id: string): Promise<void>;
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
  /**
   * A short-lived container without network, with the engine host's /lib/modules mounted
   * read-only, that runs a shell script and is removed: `modinfo` there reads what modules
   * the host's kernel has; with `load`, CAP_SYS_MODULE (its only capability) lets `modprobe`
   * load them into that kernel. src/lab/modules.ts decides when, never silently.
   */
  runWithHostModules(image: string, script: string, what: string, opts: { load: boolean }): Promise<ExecResult>;
  buildImage(context: string, files: string[], tag: string, buildArgs: Record<string, string>, labels: Record<string, string>, onLine: (line: string) => void): Promise<void>;
  importImage(tarball: Readable, repo: string, tag: string): Promise<void>;
  pullImage(ref: string): Promise<void>;
}

/** What the engine says about a network (GET /networks): the fields lvs-lab reads. */
interface NetworkJson {
  Id: string;
  Name: string;
  Driver: string;
  Labels?: Record<string, string> | null;
  Options?: Record<string, string> | null;
  IPAM?: { Config?: Array<{ Subnet?: string }> | null } | null;
}

/** An exec with a terminal (`lvs-lab shell`): its two-way stream, resizing, and its exit code once it ends. */
export interface TerminalExec {
  stream: Duplex;
  resize(size: { columns: number; rows: number }): Promise<void>;
  exitCode(): Promise<number>;
}

export class Engine implements EngineClient {
  readonly host: string;
  /** Where the engine is and which rule found it. */
  readonly location: EngineLocation;
  private opening?: Promise<Docker>;
  private readonly agents = new Map<string, Promise<ExecAgent | undefined>>();
  private labelsAsked?: Promise<Record<string, string>>;

  /** This process's engine, or the one at an address (with its TLS files when it is this process's). */
  constructor(target: string | EngineLocation = locatedEngine()) {
    this.location = typeof target === "string" ? locationOf(target) : target;
    this.host = this.location.host;
    // The client library loads while the command does its other work.
    loadDockerode().catch(() => undefined);
  }

  /** The dockerode client, opened at the first call. */
  private docker(): Promise<Docker> {
    this.opening ??= openDocker(this.location);
    return this.opening;
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

  /**
   * A call through dockerode, with a timeout and the engine's failures as one sentence. The
   * work passes `signal` on as the request's abortSignal: a call timed out is not left running.
   */
  private call<T>(work: (docker: Docker, signal: AbortSignal) => Promise<T>, what: string, ms = CALL_TIMEOUT_MS): Promise<T> {
    return withTimeout(
      (signal) => this.docker().then((d) => work(d, signal)),
      this.patience(ms),
      `the Docker engine at ${this.host} (${what})`,
    ).catch((e: unknown) => {
      throw translateEngineError(e, this.location);
    });
  }

  async info(): Promise<EngineInfo> {
    const [version, info] = await this.call(
      (d) => Promise.all([d.version() as Promise<{ Version: string; ApiVersion: string; Components?: Array<{ Name: string }> }>, d.info() as Promise<{ KernelVersion: string; OperatingSystem: string }>]),
      "version",
      8_000,
    );
    // Docker names its first component "Engine", Podman "Podman Engine".
    const component = version.Components?.[0]?.Name ?? "Engine";
    const product = component === "Engine" ? "Docker" : component.replace(/ Engine$/, "");
    return { host: this.host, product, version: version.Version, apiVersion: version.ApiVersion, kernel: info.KernelVersion, os: info.OperatingSystem };
  }

  labels(): Promise<Record<string, string>> {
    // A failed ask is not kept: the next caller asks again.
    this.labelsAsked ??= this.call((d) => d.info() as Promise<{ Labels?: string[] | null }>, "engine labels", 8_000).then(
      (info) => engineLabels(info.Labels),
      (e: unknown) => {
        this.labelsAsked = undefined;
        throw e;
      },
    );
    return this.labelsAsked;
  }

  async imageExists(ref: string): Promise<boolean> {
    return (await this.inspectImage(ref)) !== undefined;
  }

  async listContainers(instance?: string): Promise<LabContainer[]> {
    const list = await this.call((d, abortSignal) => d.listContainers({ all: true, filters: labelFilter(instance), abortSignal }), "list containers");
    return list.map((c) => ({ id: c.Id, name: (c.Names[0] ?? "").replace(/^\//, ""), state: c.State, labels: c.Labels ?? {} }));
  }

  async listNetworks(instance?: string): Promise<LabNetwork[]> {
    const list = await this.call((d, abortSignal) => d.listNetworks({ filters: labelFilter(instance), abortSignal }) as Promise<NetworkJson[]>, "list networks");
    return list.map(toLabNetwork);
  }

  /** Subnets of every network on the engine, lvs-lab's or not: the allocator must avoid them all. */
  async usedSubnets(): Promise<string[]> {
    const list = await this.call((d, abortSignal) => d.listNetworks({ abortSignal }) as Promise<NetworkJson[]>, "list networks");
    return list.flatMap((n) => toLabNetwork(n).subnets);
  }

  async createNetwork(spec: NetworkSpec): Promise<string> {
    const options: Record<string, string> = {
      "com.docker.network.bridge.enable_ip_masquerade": "false",
    };
    if (spec.mtu) options["com.docker.network.driver.mtu"] = String(spec.mtu);
    const body = {
      Name: spec.name,
      Driver: "bridge",
      CheckDuplicate: true,
      Labels: spec.labels,
      Options: options,
      IPAM: { Driver: "default", Config: [{ Subnet: spec.subnet, Gateway: spec.gateway, AuxiliaryAddresses: spec.reserved }] },
    };
    const net = await this.call((d, abortSignal) => d.createNetwork({ ...body, abortSignal }), `create network ${spec.name}`);
    return net.id;
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    const [first, ...rest] = spec.addresses;
    const body = {
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
      },
      NetworkingConfig: first ? { EndpointsConfig: { [first.network]: { IPAMConfig: { IPv4Address: first.ip } } } } : undefined,
    };
    const { id } = await this.call((d, abortSignal) => d.createContainer({ name: spec.name, ...body, abortSignal }), `create container ${spec.name}`);
    for (const extra of rest) {
      await this.call(
        (d, abortSignal) => {
          // dockerode honours abortSignal here; its types leave it out of NetworkConnectOptions.
          const connect = { Container: id, EndpointConfig: { IPAMConfig: { IPv4Address: extra.ip } }, abortSignal };
          return d.getNetwork(extra.network).connect(connect);
        },
        `connect ${spec.name} to ${extra.network}`,
      );
    }
    return id;
  }

  async startContainer(id: string): Promise<void> {
    await this.call((d, abortSignal) => d.getContainer(id).start({ abortSignal }), `start container ${id.slice(0, 12)}`);
  }

  /** Stops the container (its init ends on TERM) and starts it again; its command runner is opened afresh. */
  async restartContainer(id: string): Promise<void> {
    this.agents.delete(id);
    await this.call((d, abortSignal) => d.getContainer(id).restart({ t: 5, abortSignal }), `restart container ${id.slice(0, 12)}`);
    this.agents.delete(id);
  }

  async killContainer(id: string): Promise<void> {
    await this.call((d, abortSignal) => d.getContainer(id).kill({ abortSignal }), `kill container ${id.slice(0, 12)}`);
  }

  /** Idempotent: a container that is already gone is not an error. */
  async removeContainer(id: string): Promise<void> {
    try {
      await this.call((d, abortSignal) => d.getContainer(id).remove({ force: true, v: true, abortSignal }), `remove container ${id.slice(0, 12)}`);
    } catch (e) {
      if (!isNotFound(e) && !isAlreadyBeingRemoved(e)) throw e;
    }
  }

  async removeNetwork(id: string): Promise<void> {
    try {
      await this.call((d, abortSignal) => d.getNetwork(id).remove({ abortSignal }), `remove network ${id.slice(0, 12)}`);
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
   * probe never outlives its caller. It goes through the container's command runner
   * (exec-agent.ts) when one starts there, through a `docker exec` of its own otherwise.
   */
  async exec(id: string, cmd: string[], opts: ExecOptions & { env?: Record<string, string> } = {}): Promise<ExecResult> {
    const timeoutMs = this.patience(opts.timeoutMs ?? 15_000);
    const what = opts.what ?? `"${cmd.join(" ")}" in ${id.slice(0, 12)}`;
    const argv = ["timeout", "-k", "1", String(Math.ceil(timeoutMs / 1000)), ...cmd];
    const env = opts.env ?? {};
    const run = async (): Promise<ExecResult> => {
      if (opts.once) return this.dockerExec(id, argv, env);
      const agent = await this.agentFor(id);
      if (!agent) return this.dockerExec(id, argv, env);
      try {
        return await agent.run(argv, env);
      } catch (e) {
        this.agents.delete(id);
        // A runner that never answered did not start (no python3 in a custom image): from
        // now on this container gets one `docker exec` per command.
        if (!agent.answered) {
          this.agents.set(id, Promise.resolve(undefined));
          return this.dockerExec(id, argv, env);
        }
        throw e;
      }
    };
    return withTimeout(() => run(), timeoutMs + 5_000, what).catch((e: unknown) => {
      throw translateEngineError(e, this.location);
    });
  }

  /** The container's command runner, started at its first command; undefined where none starts. */
  private agentFor(id: string): Promise<ExecAgent | undefined> {
    const known = this.agents.get(id);
    if (known) return known.then((a) => (a === undefined || a.alive ? a : this.reopenAgent(id)));
    return this.reopenAgent(id);
  }

  private reopenAgent(id: string): Promise<ExecAgent | undefined> {
    const opening = this.docker()
      .then((d) => ExecAgent.open(d, id, id.slice(0, 12)))
      .catch(() => undefined);
    this.agents.set(id, opening);
    return opening;
  }

  private async dockerExec(id: string, argv: string[], env: Record<string, string>): Promise<ExecResult> {
    const docker = await this.docker();
    const exec = await docker.getContainer(id).exec({ Cmd: argv, Env: Object.entries(env).map(([k, v]) => `${k}=${v}`), AttachStdout: true, AttachStderr: true });
    const { stdout, stderr } = await collectOutput(docker, await exec.start({ hijack: true, stdin: false, Detach: false, Tty: false }));
    const inspected = await exec.inspect();
    return { exitCode: inspected.ExitCode ?? -1, stdout, stderr };
  }

  /**
   * A command with a terminal (`lvs-lab shell`): the exec's TTY as a two-way stream, what
   * the docker CLI's `exec -it` attaches to.
   */
  async terminalExec(id: string, cmd: string[], env: Record<string, string>, size: { columns: number; rows: number }): Promise<TerminalExec> {
    const docker = await this.docker();
    const exec = await this.call(
      () =>
        docker.getContainer(id).exec({
          Cmd: cmd,
          Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
          AttachStdin: true,
          AttachStdout: true,
          AttachStderr: true,
          Tty: true,
          ConsoleSize: [size.rows, size.columns],
        }),
      `open a shell in ${id.slice(0, 12)}`,
    );
    const stream = (await this.call(() => exec.start({ hijack: true, stdin: true, Detach: false, Tty: true }), `open a shell in ${id.slice(0, 12)}`)) as Duplex;
    return {
      stream,
      resize: async ({ columns, rows }) => {
        await exec.resize({ h: rows, w: columns }).catch(() => undefined);
      },
      exitCode: async () => (await exec.inspect()).ExitCode ?? 1,
    };
  }

  // --- images -------------------------------------------------------------------------

  /** Builds from `files` of the directory `context` (sent as a tar archive made by `tar`). */
  async buildImage(
    context: string,
    files: string[],
    tag: string,
    buildArgs: Record<string, string>,
    labels: Record<string, string>,
    onLine: (line: string) => void,
  ): Promise<void> {
    const { spawn } = await import("node:child_process");
    const tar = spawn("tar", ["-c", "-C", context, "--", ...files], { stdio: ["ignore", "pipe", "inherit"] });
    const docker = await this.docker();
    const res = await this.call((d, abortSignal) => d.buildImage(tar.stdout, { t: tag, buildargs: buildArgs, labels, rm: true, forcerm: true, abortSignal }), "start image build");
    await followProgress(docker, res, (event) => {
      const text = (event.stream ?? event.status ?? "").trim();
      if (text) onLine(text);
    }).catch((e: Error) => {
      throw new UserError(t("errors.imageBuildFailed", { error: e.message }));
    });
  }

  async importImage(tarball: Readable, repo: string, tag: string): Promise<void> {
    const docker = await this.docker();
    const res = await this.call((d, abortSignal) => d.importImage(tarball, { repo, tag, abortSignal }), "import base image", 600_000);
    await followProgress(docker, res);
  }

  async pullImage(ref: string): Promise<void> {
    const docker = await this.docker();
    const res = await this.call((d) => d.pull(ref) as Promise<NodeJS.ReadableStream>, `pull ${ref}`);
    await followProgress(docker, res);
  }

  async saveImage(ref: string): Promise<Readable> {
    return this.call((d) => d.getImage(ref).get() as Promise<Readable>, `save image ${ref}`);
  }

  async loadImage(tarball: Readable): Promise<void> {
    const res = await this.call((d) => d.loadImage(tarball, { quiet: true }) as Promise<Readable>, "load image", 900_000);
    await readAll(res);
  }

  async imageLabels(ref: string): Promise<Record<string, string> | undefined> {
    const image = await this.inspectImage(ref);
    return image && (image.Config?.Labels ?? {});
  }

  async listImages(repo: string): Promise<string[]> {
    const images = await this.call((d, abortSignal) => d.listImages({ filters: { reference: [repo] }, abortSignal }), "list images");
    return images.flatMap((i) => i.RepoTags ?? []);
  }

  async removeImage(ref: string): Promise<void> {
    await this.call((d, abortSignal) => d.getImage(ref).remove({ abortSignal }), `remove image ${ref}`);
  }

  /** The image's content id (sha256:…), or undefined if the engine has no such image. Used by src/vm to key its data disk. */
  async imageId(ref: string): Promise<string | undefined> {
    return (await this.inspectImage(ref))?.Id;
  }

  private async inspectImage(ref: string): Promise<{ Id: string; Config?: { Labels?: Record<string, string> | null } } | undefined> {
    try {
      return await this.call((d) => d.getImage(ref).inspect(), `inspect image ${ref}`);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** Runs a throw-away container (no network) and returns what it printed. */
  async runOnce(image: string, cmd: string[], what: string, capAdd: string[] = []): Promise<ExecResult> {
    return runThrowAway(await this.docker(), (w, m) => this.call(() => w, m), { Image: image, Cmd: cmd, HostConfig: { CapAdd: capAdd, NetworkMode: "none", ReadonlyPaths: READONLY_PATHS } }, what);
  }

  async runOnHost(image: string, script: string, what: string): Promise<ExecResult> {
    const HostConfig = { CapAdd: ["NET_ADMIN", "NET_RAW"], NetworkMode: "host", ReadonlyPaths: READONLY_PATHS, SecurityOpt: ["no-new-privileges"] };
    // The script travels in the environment, as in execScript.
    const config = { Image: image, Cmd: ["sh", "-ec", 'eval "$LVS_LAB_SCRIPT"'], Env: [`LVS_LAB_SCRIPT=${script}`], HostConfig };
    return runThrowAway(await this.docker(), (w, m) => this.call(() => w, m), config, what);
  }

  async runWithHostModules(image: string, script: string, what: string, opts: { load: boolean }): Promise<ExecResult> {
    const HostConfig = {
      CapAdd: opts.load ? ["SYS_MODULE"] : [],
      NetworkMode: "none",
      ReadonlyPaths: READONLY_PATHS,
      SecurityOpt: ["no-new-privileges"],
      Mounts: [{ Type: "bind" as const, Source: "/lib/modules", Target: "/lib/modules", ReadOnly: true }],
    };
    // The script travels in the environment, as in execScript.
    const config = { Image: image, Cmd: ["sh", "-c", 'eval "$LVS_LAB_SCRIPT"'], Env: [`LVS_LAB_SCRIPT=${script}`], HostConfig };
    return runThrowAway(await this.docker(), (w, m) => this.call(() => w, m), config, what);
  }
}

function toLabNetwork(n: NetworkJson): LabNetwork {
  return {
    id: n.Id,
    name: n.Name,
    labels: n.Labels ?? {},
    subnets: (n.IPAM?.Config ?? []).map((c) => c.Subnet).filter((s): s is string => Boolean(s)),
    bridge: n.Driver === "bridge" ? bridgeInterface(n) : undefined,
  };
}

/** Docker's bridge driver names the host interface br-<first 12 of the id> unless the network names it. */
function bridgeInterface(n: NetworkJson): string {
  return n.Options?.["com.docker.network.bridge.name"] ?? `br-${n.Id.slice(0, 12)}`;
}
