/**
 * Where the Docker engine is, found the way the docker CLI finds it, and which rule chose
 * it: `--engine`, `--context`, DOCKER_HOST, DOCKER_CONTEXT, the current context of
 * $DOCKER_CONFIG/config.json, /var/run/docker.sock, then the sockets that Docker Desktop,
 * rootless Docker, colima, OrbStack, Rancher Desktop and Podman put in well-known places.
 * (As in the docker CLI, an option beats the environment: `--context` over DOCKER_HOST.)
 *
 * `locateEngine` is a pure function of what it is given (environment, options, file reads,
 * which sockets exist); `locatedEngine` applies it to this process, once.
 */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { t } from "../i18n/index.js";

export const DEFAULT_SOCKET = "/var/run/docker.sock";

/** The rule that chose the engine, in the order they are tried. */
export type EngineRule =
  | "engine-option"
  | "context-option"
  | "DOCKER_HOST"
  | "DOCKER_CONTEXT"
  | "config-context"
  | "default-socket"
  | "desktop"
  | "rootless"
  | "colima"
  | "orbstack"
  | "rancher-desktop"
  | "podman"
  | "podman-rootless"
  /** Nothing found anywhere: the default socket, which is not there. */
  | "nothing-found"
  /** An address lvs-lab recorded itself (an instance's engine, the VM's). */
  | "recorded";

/** TLS files (paths) of an engine reached over tcp. */
export interface EngineTls {
  /** Check the engine's certificate against `ca` (DOCKER_TLS_VERIFY, a context without SkipTLSVerify). */
  verify: boolean;
  ca?: string;
  cert?: string;
  key?: string;
}

export interface EngineLocation {
  /** The engine's address as DOCKER_HOST spells it: unix://…, tcp://…, ssh://…, npipe://… */
  host: string;
  rule: EngineRule;
  /** The Docker context it came from (context rules). */
  context?: string;
  tls?: EngineTls;
}

export interface LocatorInput {
  env: Record<string, string | undefined>;
  options: { engine?: string; context?: string };
  home: string;
  uid: number;
  /** A file's text, or undefined when it cannot be read. */
  readFile: (path: string) => string | undefined;
  /** True when the path is a unix socket (a plain file bound over a socket hides it). */
  isSocket: (path: string) => boolean;
  /** True when the path exists (TLS files). */
  exists: (path: string) => boolean;
}

/** The well-known sockets after /var/run/docker.sock, in the order they are tried. */
export function wellKnownSockets(input: Pick<LocatorInput, "env" | "home" | "uid">): Array<{ path: string; rule: EngineRule }> {
  const runtime = input.env.XDG_RUNTIME_DIR || `/run/user/${input.uid}`;
  return [
    { path: join(input.home, ".docker/run/docker.sock"), rule: "desktop" },
    { path: join(input.home, ".docker/desktop/docker.sock"), rule: "desktop" },
    { path: join(runtime, "docker.sock"), rule: "rootless" },
    { path: join(input.home, ".colima/default/docker.sock"), rule: "colima" },
    { path: join(input.home, ".orbstack/run/docker.sock"), rule: "orbstack" },
    { path: join(input.home, ".rd/docker.sock"), rule: "rancher-desktop" },
    { path: "/run/podman/podman.sock", rule: "podman" },
    { path: join(runtime, "podman/podman.sock"), rule: "podman-rootless" },
  ];
}

export function locateEngine(input: LocatorInput): EngineLocation {
  const { env, options } = input;
  if (options.engine && options.context) throw new UserError(t("engine.bothOptions"));
  if (options.engine) return fromHost(options.engine, "engine-option", input);
  if (options.context) return fromContext(options.context, "context-option", input);
  if (env.DOCKER_HOST) return fromHost(env.DOCKER_HOST, "DOCKER_HOST", input);
  if (env.DOCKER_CONTEXT) return fromContext(env.DOCKER_CONTEXT, "DOCKER_CONTEXT", input);
  const current = currentContext(input);
  if (current) return fromContext(current, "config-context", input);
  return defaultEngine(input);
}

/** Without a host or a context: the default socket, else the first well-known socket there. */
function defaultEngine(input: LocatorInput): EngineLocation {
  if (input.isSocket(DEFAULT_SOCKET)) return { host: `unix://${DEFAULT_SOCKET}`, rule: "default-socket" };
  const found = wellKnownSockets(input).find((s) => input.isSocket(s.path));
  if (found) return { host: `unix://${found.path}`, rule: found.rule };
  return { host: `unix://${DEFAULT_SOCKET}`, rule: "nothing-found" };
}

function configDir(input: LocatorInput): string {
  return input.env.DOCKER_CONFIG || join(input.home, ".docker");
}

/** config.json's currentContext, when it names one other than "default". */
function currentContext(input: LocatorInput): string | undefined {
  const text = input.readFile(join(configDir(input), "config.json"));
  if (!text) return undefined;
  try {
    const name = (JSON.parse(text) as { currentContext?: unknown }).currentContext;
    return typeof name === "string" && name && name !== "default" ? name : undefined;
  } catch {
    throw new UserError(t("engine.badConfig", { file: join(configDir(input), "config.json") }));
  }
}

/** The docker CLI keeps a context's files under the sha256 of its name. */
export function contextDigest(name: string): string {
  return createHash("sha256").update(name).digest("hex");
}

function fromContext(name: string, rule: EngineRule, input: LocatorInput): EngineLocation {
  // "default" is the context of DOCKER_HOST or the default socket.
  if (name === "default") {
    const engine = input.env.DOCKER_HOST ? fromHost(input.env.DOCKER_HOST, "DOCKER_HOST", input) : defaultEngine(input);
    return { ...engine, rule, context: name };
  }
  const digest = contextDigest(name);
  const metaFile = join(configDir(input), "contexts/meta", digest, "meta.json");
  const text = input.readFile(metaFile);
  if (!text) throw new UserError(t("engine.noContext", { name, file: metaFile }), t("engine.noContextHint"));
  let endpoint: { Host?: unknown; SkipTLSVerify?: unknown } | undefined;
  try {
    endpoint = (JSON.parse(text) as { Endpoints?: { docker?: { Host?: unknown; SkipTLSVerify?: unknown } } }).Endpoints?.docker;
  } catch {
    throw new UserError(t("engine.badConfig", { file: metaFile }));
  }
  if (typeof endpoint?.Host !== "string" || !endpoint.Host) throw new UserError(t("engine.contextWithoutHost", { name, file: metaFile }));
  const location = { ...fromHost(endpoint.Host, rule, input, false), context: name };
  const tlsDir = join(configDir(input), "contexts/tls", digest, "docker");
  const files = tlsFiles(tlsDir, input);
  if (!files) return location;
  return { ...location, tls: { verify: endpoint.SkipTLSVerify !== true, ...files } };
}

function tlsFiles(dir: string, input: LocatorInput): Omit<EngineTls, "verify"> | undefined {
  const found = Object.fromEntries(
    (["ca", "cert", "key"] as const).map((name) => [name, join(dir, `${name}.pem`)] as const).filter(([, path]) => input.exists(path)),
  );
  return Object.keys(found).length ? found : undefined;
}

/**
 * An address as DOCKER_HOST spells it. tcp:// gets TLS as the docker CLI gives it: from
 * DOCKER_TLS_VERIFY (verified) or DOCKER_TLS, with the files of DOCKER_CERT_PATH (default
 * $DOCKER_CONFIG) — only for DOCKER_HOST and --engine, a context brings its own.
 */
function fromHost(host: string, rule: EngineRule, input: LocatorInput, envTls = true): EngineLocation {
  const address = normalizeHost(host);
  if (!address) throw new UserError(t("engine.notUnderstood", { host }), t("engine.notUnderstoodHint"));
  const { env } = input;
  const verify = Boolean(env.DOCKER_TLS_VERIFY);
  if (envTls && address.startsWith("tcp://") && (verify || env.DOCKER_TLS)) {
    return { host: address, rule, tls: { verify, ...tlsFiles(env.DOCKER_CERT_PATH || configDir(input), input) } };
  }
  return { host: address, rule };
}

/** unix://PATH (a bare /PATH too), tcp://HOST[:PORT], ssh://[USER@]HOST[:PORT], npipe://PATH; else undefined. */
export function normalizeHost(host: string): string | undefined {
  if (host.startsWith("/")) return `unix://${host}`;
  if (host === "unix://") return `unix://${DEFAULT_SOCKET}`;
  if (/^unix:\/\/\/./.test(host) || /^npipe:\/\/./.test(host)) return host;
  const match = /^(tcp|ssh):\/\/([^/?#]+)\/?$/.exec(host);
  if (!match) return undefined;
  const [, scheme, authority] = match;
  if (scheme === "ssh") return /^([^\s@:]+@)?([^\s@:]+|\[[^\]]+\])(:\d+)?$/.test(authority!) ? host.replace(/\/$/, "") : undefined;
  if (!/^([^\s@:]+|\[[^\]]+\])(:\d+)?$/.test(authority!)) return undefined;
  return `tcp://${authority}`;
}

/** What `--engine` and `--context` said, set once by the command line before a command runs. */
let chosen: { engine?: string; context?: string } = {};
let located: EngineLocation | undefined;

export function chooseEngine(options: { engine?: string; context?: string }): void {
  chosen = { engine: options.engine, context: options.context };
  located = undefined;
}

/** This process's engine: the locator applied to its environment, options and files (once). */
export function locatedEngine(): EngineLocation {
  located ??= locateEngine({
    env: process.env,
    options: chosen,
    home: homedir(),
    uid: process.getuid?.() ?? 0,
    readFile: (path) => {
      try {
        return readFileSync(path, "utf8");
      } catch {
        return undefined;
      }
    },
    isSocket: (path) => statSync(path, { throwIfNoEntry: false })?.isSocket() ?? false,
    exists: (path) => statSync(path, { throwIfNoEntry: false }) !== undefined,
  });
  return located;
}

/** An address to reach: this process's engine when it is that one (with its TLS files), else one recorded by lvs-lab. */
export function locationOf(host: string): EngineLocation {
  let here: EngineLocation | undefined;
  try {
    here = locatedEngine();
  } catch {
    // A broken context does not stop lvs-lab from reaching an address it recorded.
  }
  return here?.host === host ? here : { host, rule: "recorded" };
}

/**
 * What to do when the engine does not answer, for the rule that chose it: start the one that
 * was named or found, never install a second engine beside it. Installing docker.io is
 * offered only where lvs-lab looked for the default socket (`canInstall`: root on Debian).
 */
export function engineFix(location: EngineLocation, opts: { canInstall: boolean }): string {
  const { host, rule } = location;
  const path = host.replace(/^unix:\/\//, "");
  if (host.startsWith("ssh://")) {
    return t("engine.fix.ssh", { target: host.slice("ssh://".length).replace(/:(\d+)$/, " -p $1"), how: t(rule === "engine-option" ? "engine.fix.orEngine" : rule === "DOCKER_HOST" ? "engine.fix.orDockerHost" : "engine.fix.orContext") });
  }
  switch (rule) {
    case "engine-option":
      return t("engine.fix.engineOption", { host });
    case "DOCKER_HOST":
      return t("engine.fix.dockerHost", { host });
    case "context-option":
    case "DOCKER_CONTEXT":
    case "config-context":
      return t("engine.fix.context", { context: location.context ?? "", host });
    case "desktop":
      return t("engine.fix.desktop", { path });
    case "rootless":
      return t("engine.fix.rootless", { path });
    case "colima":
      return t("engine.fix.colima");
    case "orbstack":
      return t("engine.fix.orbstack");
    case "rancher-desktop":
      return t("engine.fix.rancher");
    case "podman":
      return t("engine.fix.podman");
    case "podman-rootless":
      return t("engine.fix.podmanRootless", { path });
    case "recorded":
      return t("engine.fix.recorded", { host });
    case "default-socket":
      return t(opts.canInstall ? "engine.fix.startDefault" : "engine.fix.startDefaultNoRoot");
    case "nothing-found":
      return t(opts.canInstall ? "engine.fix.install" : "engine.fix.installYourself");
  }
}

/** How doctor names the rule: "DOCKER_HOST", "Docker context demo (DOCKER_CONTEXT)", "rootless Docker's socket", … */
export function ruleText(location: EngineLocation): string {
  return t(`engine.rule.${location.rule}`, { context: location.context ?? "" });
}
