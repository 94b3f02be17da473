/** The engine client's own parts around dockerode: transport options per address, errors, exec output frames, progress streams. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Socket } from "node:net";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { collectOutput, EngineApiError, engineApiError, followProgress, modemOptions, openDocker } from "../src/docker/api.js";
import { Engine } from "../src/docker/engine.js";
import { TimeoutError, withTimeout } from "../src/errors.js";

const frame = (stream: number, text: string) => {
  const body = Buffer.from(text);
  const head = Buffer.alloc(8);
  head.writeUInt8(stream, 0);
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
};

describe("the engine client (dockerode)", () => {
  it("reaches each kind of address with the transport the docker CLI would use", () => {
    expect(modemOptions({ host: "unix:///run/docker.sock", rule: "default-socket" })).toMatchObject({ socketPath: "/run/docker.sock" });
    expect(modemOptions({ host: "tcp://127.0.0.1:23750", rule: "DOCKER_HOST" })).toMatchObject({ protocol: "http", host: "127.0.0.1", port: 23750 });
    expect(modemOptions({ host: "tcp://[::1]", rule: "DOCKER_HOST" })).toMatchObject({ protocol: "http", host: "::1", port: 2375 });
    expect(modemOptions({ host: "ssh://learner@lab-server:2222", rule: "engine-option" })).toMatchObject({ protocol: "ssh", host: "lab-server", port: 2222, username: "learner" });
    const dir = mkdtempSync(join(tmpdir(), "lvs-lab-tls-"));
    for (const f of ["ca", "cert", "key"]) writeFileSync(join(dir, `${f}.pem`), `${f} bytes`);
    const tls = { ca: join(dir, "ca.pem"), cert: join(dir, "cert.pem"), key: join(dir, "key.pem") };
    const verified = modemOptions({ host: "tcp://engine.example", rule: "DOCKER_HOST", tls: { verify: true, ...tls } });
    expect(verified).toMatchObject({ protocol: "https", host: "engine.example", port: 2376 });
    expect([verified.ca?.toString(), verified.cert?.toString(), verified.key?.toString()]).toEqual(["ca bytes", "cert bytes", "key bytes"]);
    // Unverified TLS (DOCKER_TLS, a context with SkipTLSVerify) sends the client certificate and no CA.
    expect(modemOptions({ host: "tcp://engine.example:2376", rule: "DOCKER_HOST", tls: { verify: false, ...tls } }).ca).toBeUndefined();
  });

  it("an address given to lvs-lab wins over DOCKER_HOST, which docker-modem would read itself", async () => {
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = "tcp://192.0.2.1:2375";
    try {
      const docker = await openDocker({ host: "unix:///run/other.sock", rule: "engine-option" });
      expect([docker.modem.socketPath, docker.modem.host]).toEqual(["/run/other.sock", undefined]);
      expect(process.env.DOCKER_HOST).toBe("tcp://192.0.2.1:2375");
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });

  it("keeps the engine's own sentence of an error status", () => {
    const modemError = Object.assign(new Error("(HTTP code 404) no such container - No such container: x "), { statusCode: 404, json: { message: "No such container: x" } });
    const e = engineApiError(modemError);
    expect(e).toBeInstanceOf(EngineApiError);
    expect((e as EngineApiError).message).toBe("No such container: x (HTTP 404)");
    expect((e as EngineApiError).statusCode).toBe(404);
    const plain = new Error("connect ECONNREFUSED");
    expect(engineApiError(plain)).toBe(plain);
  });

  it("separates an exec's stdout and stderr frames, split anywhere", async () => {
    const docker = await openDocker({ host: "unix:///nonexistent.sock", rule: "engine-option" });
    const whole = Buffer.concat([frame(1, "out1 "), frame(2, "err"), frame(1, "out2")]);
    for (const cut of [0, 3, 8, 12, 20, whole.length]) {
      const stream = new PassThrough();
      const done = collectOutput(docker, stream);
      stream.write(whole.subarray(0, cut));
      stream.end(whole.subarray(cut));
      expect(await done).toEqual({ stdout: "out1 out2", stderr: "err" });
    }
  });

  it("reads a progress stream line by line, split anywhere, and fails on an error line", async () => {
    const docker = await openDocker({ host: "unix:///nonexistent.sock", rule: "engine-option" });
    const seen: string[] = [];
    const ok = new PassThrough();
    const done = followProgress(docker, ok, (e) => seen.push(e.stream ?? e.status ?? ""));
    ok.write('{"stream":"Step 1/2"}\r\n{"str');
    ok.end('eam":"Step 2/2"}\r\n{"status":"done"}\r\n');
    await done;
    expect(seen).toEqual(["Step 1/2", "Step 2/2", "done"]);

    const failing = new PassThrough();
    const failed = followProgress(docker, failing);
    failing.end('{"stream":"Step 1/1"}\r\n{"errorDetail":{"message":"boom"},"error":"boom"}\r\n');
    await expect(failed).rejects.toThrow("boom");
  });

  it("ends a timed-out call's request: the engine sees the connection close (waits out the 30 s call timeout)", async () => {
    // An engine that reads requests and never answers.
    const dir = mkdtempSync(join(tmpdir(), "lvs-lab-silent-"));
    const connections: Socket[] = [];
    const closed: Promise<void>[] = [];
    const server = createServer((socket) => {
      connections.push(socket);
      closed.push(new Promise((resolve) => socket.on("close", () => resolve())));
      socket.resume(); // reads the request (and then the client's end), answers nothing
    });
    await new Promise<void>((resolve) => server.listen(join(dir, "engine.sock"), resolve));
    try {
      const outcome = new Engine(`unix://${join(dir, "engine.sock")}`).listContainers().then(() => "answered", (e: Error) => e.message);
      expect(await outcome).toMatch(/^Timed out after 30 s waiting for the Docker engine at unix:\/\/.*\(list containers\)\.$/);
      expect(connections).toHaveLength(1);
      // Without the abort the request stays open as long as the engine does not answer.
      await closed[0];
    } finally {
      for (const c of connections) c.destroy();
      server.close();
    }
  }, 45_000);

  it("aborts the work's signal at the deadline, with the timeout as its reason", async () => {
    let seen: AbortSignal | undefined;
    const work = (signal: AbortSignal) => {
      seen = signal;
      return new Promise<never>(() => undefined);
    };
    await expect(withTimeout(work, 50, "the probes on rs1")).rejects.toThrow("Timed out after 0.1 s waiting for the probes on rs1.");
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBeInstanceOf(TimeoutError);
  });
});
