/**
 * The Docker Engine API over HTTP, on the local unix socket or tcp://: JSON calls, the
 * streams of image builds and loads, and the hijacked connection an exec's output comes
 * back on. Node's own http is all it needs; a full client library (dockerode) costs every
 * command ~150 ms of loading for ssh and gRPC transports lvs-lab never uses
 * (bench/results/, "why no dockerode").
 */
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import type { Duplex, Readable } from "node:stream";
import { UserError } from "../errors.js";

export const DEFAULT_SOCKET = "/var/run/docker.sock";

export type EngineAddress = { socketPath: string } | { protocol: "http" | "https"; host: string; port: number };

/** Where the engine is, as the docker CLI understands DOCKER_HOST (unix:// or tcp://). */
export function engineAddress(dockerHost: string): EngineAddress {
  if (dockerHost.startsWith("unix://")) return { socketPath: dockerHost.slice("unix://".length) || DEFAULT_SOCKET };
  if (dockerHost.startsWith("/")) return { socketPath: dockerHost };
  const match = /^(tcp|http|https):\/\/([^:/]+|\[[^\]]+\])(?::(\d+))?\/?$/.exec(dockerHost);
  if (!match) {
    throw new UserError(`DOCKER_HOST "${dockerHost}" is not understood.`, "Use unix:///var/run/docker.sock or tcp://HOST:PORT.");
  }
  const [, scheme, host, port] = match;
  const protocol = scheme === "https" ? "https" : "http";
  return { protocol, host: host!.replace(/^\[|\]$/g, ""), port: Number(port ?? (protocol === "https" ? 2376 : 2375)) };
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

export type Query = Record<string, string | number | boolean | object | undefined>;

export interface RequestOptions {
  query?: Query;
  /** JSON body, or a stream/buffer sent as is (a tar archive). */
  body?: unknown;
  contentType?: string;
}

export class DockerApi {
  private readonly address: EngineAddress;
  private readonly agent: http.Agent;

  constructor(dockerHost: string) {
    this.address = engineAddress(dockerHost);
    const Agent = "protocol" in this.address && this.address.protocol === "https" ? https.Agent : http.Agent;
    // Connections are reused for the many small calls of one command.
    this.agent = new Agent({ keepAlive: true });
  }

  /** A call whose answer is JSON (or empty); an error status throws EngineApiError. */
  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.stream(method, path, opts);
    const text = (await readAll(res)).toString("utf8");
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A call whose answer is read as a stream (image save, build and load progress). */
  stream(method: string, path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = this.request(method, path, opts);
      req.on("response", (res) => {
        if ((res.statusCode ?? 500) < 400) return resolve(res);
        readAll(res).then((b) => reject(apiError(res.statusCode ?? 500, b)), reject);
      });
      req.on("error", reject);
      send(req, opts.body);
    });
  }

  /**
   * POST that hands the connection over to a raw stream (exec start): resolves with all
   * that came back once the engine closes it, Docker's framed stdout/stderr.
   */
  hijack(path: string, body: unknown): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const req = this.request("POST", path, { body }, { Connection: "Upgrade", Upgrade: "tcp" });
      req.on("upgrade", (_res, socket, head) => {
        const chunks: Buffer[] = [head];
        socket.on("data", (c: Buffer) => chunks.push(c));
        socket.on("error", reject);
        socket.on("close", () => resolve(Buffer.concat(chunks)));
        socket.on("end", () => socket.destroy());
      });
      req.on("response", (res) => {
        readAll(res).then((b) => reject(apiError(res.statusCode ?? 500, b)), reject);
      });
      req.on("error", reject);
      send(req, body);
    });
  }

  /**
   * POST that hands the connection over to a raw two-way stream (an exec with stdin): the
   * socket, with whatever the engine sent right after the upgrade.
   */
  upgrade(path: string, body: unknown): Promise<{ socket: Duplex; head: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = this.request("POST", path, { body }, { Connection: "Upgrade", Upgrade: "tcp" });
      req.on("upgrade", (_res, socket, head) => resolve({ socket, head }));
      req.on("response", (res) => {
        readAll(res).then((b) => reject(apiError(res.statusCode ?? 500, b)), reject);
      });
      req.on("error", reject);
      send(req, body);
    });
  }

  private request(method: string, path: string, opts: RequestOptions, headers: Record<string, string> = {}): http.ClientRequest {
    const target = "socketPath" in this.address ? { socketPath: this.address.socketPath } : { host: this.address.host, port: this.address.port };
    const isStream = isReadable(opts.body) || Buffer.isBuffer(opts.body);
    const contentType = opts.contentType ?? (opts.body === undefined ? undefined : isStream ? "application/x-tar" : "application/json");
    const request = "protocol" in this.address && this.address.protocol === "https" ? https.request : http.request;
    return request({
      ...target,
      agent: this.agent,
      method,
      path: path + queryString(opts.query),
      headers: { ...(contentType ? { "Content-Type": contentType } : {}), ...headers },
    });
  }
}

function send(req: http.ClientRequest, body: unknown): void {
  if (body === undefined) req.end();
  else if (isReadable(body)) body.pipe(req);
  else req.end(Buffer.isBuffer(body) ? body : JSON.stringify(body));
}

function isReadable(x: unknown): x is Readable {
  return typeof x === "object" && x !== null && typeof (x as Readable).pipe === "function";
}

export function queryString(query: Query = {}): string {
  const parts = Object.entries(query)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(typeof v === "object" ? JSON.stringify(v) : String(v))}`);
  return parts.length ? `?${parts.join("&")}` : "";
}

function apiError(status: number, body: Buffer): EngineApiError {
  const text = body.toString("utf8").trim();
  let message = text;
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? text;
  } catch {
    /* not JSON: the text itself */
  }
  return new EngineApiError(status, `${message || "no message"} (HTTP ${status})`);
}

export function readAll(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
}

/** Docker's multiplexed stream (no TTY): 8-byte frame headers, byte 0 the stream (1 out, 2 err), bytes 4–7 the length. */
export function demux(raw: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const rest = takeFrames(raw, (stream, frame) => (stream === 2 ? err : out).push(frame));
  // A stream cut short keeps what arrived of its last frame.
  if (rest.length > 8) (rest[0] === 2 ? err : out).push(rest.subarray(8));
  return { stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
}

/**
 * Hands each complete frame of a multiplexed stream to `onFrame` (1 stdout, 2 stderr) and
 * returns the bytes of an incomplete last frame, to be prefixed to the next chunk.
 */
export function takeFrames(raw: Buffer, onFrame: (stream: number, frame: Buffer) => void): Buffer {
  let i = 0;
  while (i + 8 <= raw.length) {
    const size = raw.readUInt32BE(i + 4);
    if (i + 8 + size > raw.length) break;
    onFrame(raw[i]!, raw.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return raw.subarray(i);
}

/**
 * Reads a progress stream (build, pull, import: one JSON object per line) to its end.
 * An object with `error` rejects; `onEvent` sees every object as it comes.
 */
export function followProgress(res: Readable, onEvent: (e: { stream?: string; status?: string; error?: string }) => void = () => undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffer = "";
    let failed: string | undefined;
    const take = (line: string) => {
      if (!line.trim()) return;
      try {
        const event = JSON.parse(line) as { stream?: string; status?: string; error?: string };
        if (event.error) failed ??= event.error;
        onEvent(event);
      } catch {
        /* a partial or foreign line: nothing to report */
      }
    };
    res.on("data", (c: Buffer) => {
      buffer += c.toString("utf8");
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      lines.forEach(take);
    });
    res.on("end", () => {
      take(buffer);
      if (failed) reject(new Error(failed));
      else resolve();
    });
    res.on("error", reject);
  });
}
