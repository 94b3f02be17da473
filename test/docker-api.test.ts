/** The Engine API transport's pure parts: DOCKER_HOST forms, exec output frames, queries, progress streams. */
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { demux, engineAddress, followProgress, queryString, takeFrames } from "../src/docker/api.js";

const frame = (stream: number, text: string) => {
  const body = Buffer.from(text);
  const head = Buffer.alloc(8);
  head.writeUInt8(stream, 0);
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
};

describe("the Docker Engine API transport", () => {
  it("demultiplexes Docker's framed exec stream", () => {
    expect(demux(Buffer.concat([frame(1, "out1 "), frame(2, "err"), frame(1, "out2")]))).toEqual({ stdout: "out1 out2", stderr: "err" });
    expect(demux(Buffer.alloc(0))).toEqual({ stdout: "", stderr: "" });
  });

  it("takes frames from a stream split anywhere, keeping an incomplete frame for the next chunk", () => {
    const whole = Buffer.concat([frame(1, '{"id":1}\n'), frame(2, "warning"), frame(1, '{"id":2}\n')]);
    for (let cut = 0; cut <= whole.length; cut++) {
      const seen: string[] = [];
      const take = (s: number, f: Buffer) => seen.push(`${s}:${f.toString()}`);
      const rest = takeFrames(whole.subarray(0, cut), take);
      expect(takeFrames(Buffer.concat([rest, whole.subarray(cut)]), take)).toHaveLength(0);
      expect(seen).toEqual(['1:{"id":1}\n', "2:warning", '1:{"id":2}\n']);
    }
  });

  it("honours DOCKER_HOST forms", () => {
    expect(engineAddress("unix:///run/docker.sock")).toEqual({ socketPath: "/run/docker.sock" });
    expect(engineAddress("/run/docker.sock")).toEqual({ socketPath: "/run/docker.sock" });
    expect(engineAddress("tcp://127.0.0.1:23750")).toEqual({ protocol: "http", host: "127.0.0.1", port: 23750 });
    expect(engineAddress("tcp://[::1]")).toEqual({ protocol: "http", host: "::1", port: 2375 });
    expect(engineAddress("https://engine.example")).toEqual({ protocol: "https", host: "engine.example", port: 2376 });
    expect(() => engineAddress("ftp://x")).toThrow(/is not understood/);
  });

  it("sends objects in a query as JSON, as the engine's filters want them", () => {
    expect(queryString({ all: true, filters: { label: ["io.lvs-lab=1"] }, skipped: undefined })).toBe(
      `?all=true&filters=${encodeURIComponent('{"label":["io.lvs-lab=1"]}')}`,
    );
    expect(queryString({})).toBe("");
  });

  it("reads a progress stream line by line, split anywhere, and fails on an error line", async () => {
    const seen: string[] = [];
    const ok = new PassThrough();
    const done = followProgress(ok, (e) => seen.push(e.stream ?? e.status ?? ""));
    ok.write('{"stream":"Step 1/2"}\n{"str');
    ok.end('eam":"Step 2/2"}\n{"status":"done"}');
    await done;
    expect(seen).toEqual(["Step 1/2", "Step 2/2", "done"]);

    const failing = new PassThrough();
    const failed = followProgress(failing);
    failing.end('{"stream":"Step 1/1"}\n{"errorDetail":{"message":"boom"},"error":"boom"}\n');
    await expect(failed).rejects.toThrow("boom");
  });
});
