/**
 * The only module that talks to the Docker engine (through api.ts, the Engine API over
 * HTTP). Everything else gets plain data back, so the rest of lvs-lab does not care
 * whether the engine is local or inside the lvs-lab VM.
 */
import type { Readable } from "node:stream";
import { UserError, withTimeout } from "../errors.js";
import { DEFAULT_SOCKET, demux, DockerApi, followProgress, readAll } from "./api.js";
import { ExecAgent } from "./exec-agent.js";
import { labelFilter } from "./labels.js";
import { runThrowAway } from "./throw-away.js";

export { DEFAULT_SOCKET };
const CALL_TIMEOUT_MS = 30_000;

export interface EngineInfo {
  host: string;
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

/** Where the engine is, as the docker CLI understands it (unix:// or tcp://). */
export function resolveDockerHost(explicit?: string): string {
  return explicit || process.env.DOCKER_HOST || `unix://${DEFAULT_SOCKET}`;
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

/** What the engine says about a network (GET /networks): the fields lvs-lab reads. */
interface NetworkJson {
  Id: string;
  Name: string;
  Driver: string;
  Labels: Record<string, string> | null;
  Options: Record<string, string> | null;
  IPAM: { Config: Array<{ Subnet?: string }> | null } | null;
}

const enc = encodeURIComponent;

export class Engine implements EngineClient {
  private readonly api: DockerApi;
  private readonly agents = new Map<string, Promise<ExecAgent | undefined>>();
  private labelsAsked?: Promise<Record<string, string>>;

  constructor(readonly host: string = resolveDockerHost()) {
    this.api = new DockerApi(host);
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
      Promise.all([
        this.api.json<{ Version: string; ApiVersion: string }>("GET", "/version"),
        this.api.json<{ KernelVersion: string; OperatingSystem: string }>("GET", "/info"),
      ]),
      "version",
      8_000,
    );
    return { host: this.host, version: version.Version, apiVersion: version.ApiVersion, kernel: info.KernelVersion, os: info.OperatingSystem };
  }

  labels(): Promise<Record<string, string>> {
    // A failed ask is not kept: the next caller asks again.
    this.labelsAsked ??= this.call(this.api.json<{ Labels?: string[] | null }>("GET", "/info"), "engine labels", 8_000).then(
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
    const list = await this.call(
      this.api.json<Array<{ Id: string; Names: string[]; State: string; Labels: Record<string, string> | null }>>("GET", "/containers/json", {
        query: { all: true, filters: labelFilter(instance) },
      }),
      "list containers",
    );
    return list.map((c) => ({ id: c.Id, name: (c.Names[0] ?? "").replace(/^\//, ""), state: c.State, labels: c.Labels ?? {} }));
  }

  async listNetworks(instance?: string): Promise<LabNetwork[]> {
    const list = await this.call(this.api.json<NetworkJson[]>("GET", "/networks", { query: { filters: labelFilter(instance) } }), "list networks");
    return list.map(toLabNetwork);
  }

  /** Subnets of every network on the engine, lvs-lab's or not: the allocator must avoid them all. */
  async usedSubnets(): Promise<string[]> {
    const list = await this.call(this.api.json<NetworkJson[]>("GET", "/networks"), "list networks");
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
    const net = await this.call(this.api.json<{ Id: string }>("POST", "/networks/create", { body }), `create network ${spec.name}`);
    return net.Id;
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
    const { Id: id } = await this.call(this.api.json<{ Id: string }>("POST", "/containers/create", { query: { name: spec.name }, body }), `create container ${spec.name}`);
    for (const extra of rest) {
      await this.call(
        this.api.json("POST", `/networks/${enc(extra.network)}/connect`, { body: { Container: id, EndpointConfig: { IPAMConfig: { IPv4Address: extra.ip } } } }),
        `connect ${spec.name} to ${extra.network}`,
      );
    }
    return id;
  }

  async startContainer(id: string): Promise<void> {
    await this.call(this.api.json("POST", `/containers/${enc(id)}/start`), `start container ${id.slice(0, 12)}`);
  }

  async killContainer(id: string): Promise<void> {
    await this.call(this.api.json("POST", `/containers/${enc(id)}/kill`), `kill container ${id.slice(0, 12)}`);
  }

  /** Idempotent: a container that is already gone is not an error. */
  async removeContainer(id: string): Promise<void> {
    try {
      await this.call(this.api.json("DELETE", `/containers/${enc(id)}`, { query: { force: true, v: true } }), `remove container ${id.slice(0, 12)}`);
    } catch (e) {
      if (!isNotFound(e) && !isAlreadyBeingRemoved(e)) throw e;
    }
  }

  async removeNetwork(id: string): Promise<void> {
    try {
      await this.call(this.api.json("DELETE", `/networks/${enc(id)}`), `remove network ${id.slice(0, 12)}`);
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
    return withTimeout(run(), timeoutMs + 5_000, what).catch((e: unknown) => {
      throw translateEngineError(e, this.host);
    });
  }

  /** The container's command runner, started at its first command; undefined where none starts. */
  private agentFor(id: string): Promise<ExecAgent | undefined> {
    const known = this.agents.get(id);
    if (known) return known.then((a) => (a === undefined || a.alive ? a : this.reopenAgent(id)));
    return this.reopenAgent(id);
  }

  private reopenAgent(id: string): Promise<ExecAgent | undefined> {
    const opening = ExecAgent.open(this.api, id, id.slice(0, 12)).catch(() => undefined);
    this.agents.set(id, opening);
    return opening;
  }

  private async dockerExec(id: string, argv: string[], env: Record<string, string>): Promise<ExecResult> {
    const created = await this.api.json<{ Id: string }>("POST", `/containers/${enc(id)}/exec`, {
      body: { Cmd: argv, Env: Object.entries(env).map(([k, v]) => `${k}=${v}`), AttachStdout: true, AttachStderr: true },
    });
    const { stdout, stderr } = demux(await this.api.hijack(`/exec/${enc(created.Id)}/start`, { Detach: false, Tty: false }));
    const inspected = await this.api.json<{ ExitCode: number | null }>("GET", `/exec/${enc(created.Id)}/json`);
    return { exitCode: inspected.ExitCode ?? -1, stdout, stderr };
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
    const query = { t: tag, buildargs: buildArgs, labels, rm: true, forcerm: true };
    const res = await this.call(this.api.stream("POST", "/build", { query, body: tar.stdout }), "start image build");
    await followProgress(res, (event) => {
      const text = (event.stream ?? event.status ?? "").trim();
      if (text) onLine(text);
    }).catch((e: Error) => {
      throw new UserError(`Building the lab image failed: ${e.message}`);
    });
  }

  async importImage(tarball: Readable, repo: string, tag: string): Promise<void> {
    const res = await this.call(this.api.stream("POST", "/images/create", { query: { fromSrc: "-", repo, tag }, body: tarball }), "import base image", 600_000);
    await followProgress(res);
  }

  async pullImage(ref: string): Promise<void> {
    const [repo, tag] = splitRef(ref);
    const res = await this.call(this.api.stream("POST", "/images/create", { query: { fromImage: repo, tag } }), `pull ${ref}`);
    await followProgress(res);
  }

  async saveImage(ref: string): Promise<Readable> {
    return this.call(this.api.stream("GET", `/images/${ref}/get`), `save image ${ref}`);
  }

  async loadImage(tarball: Readable): Promise<void> {
    const res = await this.call(this.api.stream("POST", "/images/load", { query: { quiet: true }, body: tarball }), "load image", 900_000);
    await readAll(res);
  }

  async imageLabels(ref: string): Promise<Record<string, string> | undefined> {
    const image = await this.inspectImage(ref);
    return image && (image.Config?.Labels ?? {});
  }

  async listImages(repo: string): Promise<string[]> {
    const images = await this.call(this.api.json<Array<{ RepoTags: string[] | null }>>("GET", "/images/json", { query: { filters: { reference: [repo] } } }), "list images");
    return images.flatMap((i) => i.RepoTags ?? []);
  }

  async removeImage(ref: string): Promise<void> {
    await this.call(this.api.json("DELETE", `/images/${ref}`), `remove image ${ref}`);
  }

  /** The image's content id (sha256:…), or undefined if the engine has no such image. Used by src/vm to key its data disk. */
  async imageId(ref: string): Promise<string | undefined> {
    return (await this.inspectImage(ref))?.Id;
  }

  private async inspectImage(ref: string): Promise<{ Id: string; Config?: { Labels?: Record<string, string> | null } } | undefined> {
    try {
      return await this.call(this.api.json("GET", `/images/${ref}/json`), `inspect image ${ref}`);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** Runs a throw-away container (no network) and returns what it printed. */
  async runOnce(image: string, cmd: string[], what: string, capAdd: string[] = []): Promise<ExecResult> {
    return runThrowAway(this.api, (w, m) => this.call(w, m), { Image: image, Cmd: cmd, HostConfig: { CapAdd: capAdd, NetworkMode: "none", ReadonlyPaths: READONLY_PATHS } }, what);
  }

  async runOnHost(image: string, script: string, what: string): Promise<ExecResult> {
    const HostConfig = { CapAdd: ["NET_ADMIN", "NET_RAW"], NetworkMode: "host", ReadonlyPaths: READONLY_PATHS, SecurityOpt: ["no-new-privileges"] };
    // The script travels in the environment, as in execScript.
    const config = { Image: image, Cmd: ["sh", "-ec", 'eval "$LVS_LAB_SCRIPT"'], Env: [`LVS_LAB_SCRIPT=${script}`], HostConfig };
    return runThrowAway(this.api, (w, m) => this.call(w, m), config, what);
  }
}

/** "debian:bookworm-slim" → ["debian", "bookworm-slim"]; a registry's port is not a tag. */
function splitRef(ref: string): [string, string] {
  const colon = ref.lastIndexOf(":");
  return colon > ref.lastIndexOf("/") ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, "latest"];
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
