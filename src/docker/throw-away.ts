/** Short-lived containers that run one command and are removed, and reading their output. */
import type Docker from "dockerode";
import { PassThrough, type Readable } from "node:stream";
import type { ExecResult } from "./engine.js";
import { LABEL, ONE_SHOT_INSTANCE, productLabels } from "./labels.js";

/** Collects an attached exec stream (Docker's 8-byte framed multiplexing) into strings. */
export async function collectDemuxed(stream: Readable, modem: { demuxStream: Docker["modem"]["demuxStream"] }) {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on("data", (b: Buffer) => out.push(b));
  stderr.on("data", (b: Buffer) => err.push(b));
  modem.demuxStream(stream, stdout, stderr);
  await new Promise<void>((resolve, reject) => {
    stream.on("end", resolve);
    stream.on("close", resolve);
    stream.on("error", reject);
  });
  return { stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
}

export interface ThrowAwayConfig {
  Image: string;
  Cmd: string[];
  Env?: string[];
  HostConfig: { CapAdd: string[]; NetworkMode: string; ReadonlyPaths: string[]; SecurityOpt?: string[] };
}

/** The engine's call wrapper: timeout and error translation. */
type Call = <T>(work: Promise<T>, what: string) => Promise<T>;

/** Creates, runs and removes a labelled one-shot container; every capability but the listed ones dropped. */
export async function runThrowAway(docker: Docker, call: Call, config: ThrowAwayConfig, what: string): Promise<ExecResult> {
  const container = await call(
    docker.createContainer({
      ...config,
      Entrypoint: [],
      Labels: { ...productLabels(), [LABEL.instance]: ONE_SHOT_INSTANCE },
      HostConfig: { ...config.HostConfig, CapDrop: ["ALL"] } as Docker.HostConfig,
    }),
    what,
  );
  try {
    await call(container.start(), what);
    const waited = (await call(container.wait(), what)) as { StatusCode: number };
    const logs = (await call(container.logs({ stdout: true, stderr: true, follow: false }), what)) as Buffer;
    const { stdout, stderr } = await collectDemuxed(bufferStream(logs), docker.modem);
    return { exitCode: waited.StatusCode, stdout, stderr };
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

function bufferStream(b: Buffer): Readable {
  const s = new PassThrough();
  s.end(b);
  return s;
}
