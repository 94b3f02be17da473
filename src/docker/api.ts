/**
 * The engine client: dockerode (docker-modem underneath: unix sockets, tcp with TLS, ssh,
 * Windows named pipes), set up for the engine the locator found, and the few stream
 * helpers the engine's answers need. dockerode costs a process ≈150 ms of loading (its
 * ssh and gRPC parts), so it is imported when the first engine is opened, not before:
 * `--help`, `list`, `lint` and `class serve` never load it.
 */
import type Dockerode from "dockerode";
import { readFileSync } from "node:fs";
import { Agent as HttpsAgent } from "node:https";
import { homedir, userInfo } from "node:os";
import { join } from "node:path";
import { Writable, type Readable } from "node:stream";
import type { EngineLocation } from "./locate.js";

export type Docker = Dockerode;

let loading: Promise<typeof Dockerode> | undefined;

/** Starts loading dockerode (once per process); an engine starts it as it is made, so the load overlaps other work. */
export function loadDockerode(): Promise<typeof Dockerode> {
  loading ??= import("dockerode").then((m) => m.default);
  return loading;
}

/** The dockerode client of an engine location. */
export async function openDocker(location: EngineLocation): Promise<Docker> {
  const Docker = await loadDockerode();
  const options = modemOptions(location);
  // docker-modem also reads DOCKER_HOST and DOCKER_CERT_PATH itself; the locator has read
  // them already, and an --engine or --context must not be overridden by them.
  const env = { DOCKER_HOST: process.env.DOCKER_HOST, DOCKER_CERT_PATH: process.env.DOCKER_CERT_PATH, DOCKER_TLS_VERIFY: process.env.DOCKER_TLS_VERIFY };
  for (const key of Object.keys(env)) delete process.env[key];
  try {
    return new Docker(options);
  } finally {
    for (const [key, value] of Object.entries(env)) if (value !== undefined) process.env[key] = value;
  }
}

/** docker-modem's options: dockerode's, and the connection agent docker-modem also takes. */
export type ModemOptions = Dockerode.DockerOptions & { agent?: HttpsAgent };

/** docker-modem's options for a location. */
export function modemOptions(location: EngineLocation): ModemOptions {
  const { host, tls } = location;
  if (host.startsWith("unix://") || host.startsWith("npipe://")) {
    const socketPath = host.startsWith("unix://") ? host.slice("unix://".length) : host.slice("npipe://".length);
    // Node's own agent keeps connections alive for the many small calls of one command. An
    // agent of lvs-lab's own would cost every request: docker-modem formats its options with
    // util.inspect (for its debug log, even when off), the agent's sockets included.
    return { socketPath };
  }
  const url = new URL(host);
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  if (url.protocol === "ssh:") {
    // docker-modem builds each request's address with Node's legacy url API from "ssh" and
    // the host, which Node flags on stderr as an invalid URL (DEP0170) though it works.
    process.noDeprecation = true;
    return {
      protocol: "ssh",
      host: hostname,
      port: Number(url.port || 22),
      username: decodeURIComponent(url.username) || userInfo().username,
      sshOptions: sshCredentials(),
    };
  }
  if (tls) {
    const file = (path?: string) => (path ? readFileSync(path) : undefined);
    const ca = tls.verify ? file(tls.ca) : undefined;
    return {
      protocol: "https",
      host: hostname,
      port: Number(url.port || 2376),
      ca,
      cert: file(tls.cert),
      key: file(tls.key),
      // docker-modem passes no rejectUnauthorized: an unverified engine needs an agent that says so.
      ...(tls.verify ? {} : { agent: new HttpsAgent({ keepAlive: true, rejectUnauthorized: false }) }),
    };
  }
  return { protocol: "http", host: hostname, port: Number(url.port || 2375) };
}

/**
 * As the ssh command would log in: through the ssh agent when one runs, else with the
 * first default identity file (~/.ssh/id_ed25519, id_ecdsa, id_rsa).
 */
function sshCredentials(): { agent?: string; privateKey?: Buffer } {
  if (process.env.SSH_AUTH_SOCK) return { agent: process.env.SSH_AUTH_SOCK };
  for (const name of ["id_ed25519", "id_ecdsa", "id_rsa"]) {
    try {
      return { privateKey: readFileSync(join(homedir(), ".ssh", name)) };
    } catch {
      /* the next one */
    }
  }
  return {};
}

/** The engine answered with an error status; `message` is the engine's own sentence. */
export class EngineApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = "EngineApiError";
  }
}

/**
 * docker-modem's error for an error status ("(HTTP code 404) no such container - …") as the
 * engine's own sentence; any other error as it is.
 */
export function engineApiError(e: unknown): unknown {
  if (!(e instanceof Error) || !("statusCode" in e) || typeof e.statusCode !== "number") return e;
  const json = (e as { json?: unknown }).json;
  const said = typeof json === "object" && json !== null && "message" in json ? String((json as { message: unknown }).message) : typeof json === "string" ? json : Buffer.isBuffer(json) ? json.toString("utf8") : "";
  return new EngineApiError(e.statusCode, `${said.trim() || e.message} (HTTP ${e.statusCode})`);
}

export function readAll(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
}

/** A writable that hands each chunk to `take`. */
export function sink(take: (chunk: Buffer) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      take(chunk);
      done();
    },
  });
}

/**
 * Reads Docker's multiplexed stdout/stderr (an exec's or a container's logs, no TTY) until
 * the engine closes it.
 */
export function collectOutput(docker: Docker, stream: NodeJS.ReadableStream): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    docker.modem.demuxStream(stream, sink((c) => out.push(Buffer.from(c))), sink((c) => err.push(Buffer.from(c))));
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      resolve({ stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
    };
    stream.on("end", finish);
    stream.on("close", finish);
    stream.on("error", (e) => {
      done = true;
      reject(e);
    });
  });
}

/**
 * Reads a progress stream (build, pull, import: one JSON object per line) to its end with
 * docker-modem. An object with `error` rejects; `onEvent` sees every object as it comes.
 */
export function followProgress(docker: Docker, stream: NodeJS.ReadableStream, onEvent: (e: { stream?: string; status?: string; error?: string }) => void = () => undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    let failed: string | undefined;
    docker.modem.followProgress(
      stream,
      (err: Error | null) => {
        if (err) reject(err);
        else if (failed) reject(new Error(failed));
        else resolve();
      },
      (event: { stream?: string; status?: string; error?: string }) => {
        if (event.error) failed ??= event.error;
        onEvent(event);
      },
    );
  });
}
