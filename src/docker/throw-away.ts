/** Short-lived containers that run one command and are removed, and reading their output. */
import { demux, readAll, type DockerApi } from "./api.js";
import type { ExecResult } from "./engine.js";
import { LABEL, ONE_SHOT_INSTANCE, productLabels } from "./labels.js";

export interface ThrowAwayConfig {
  Image: string;
  Cmd: string[];
  Env?: string[];
  HostConfig: { CapAdd: string[]; NetworkMode: string; ReadonlyPaths: string[]; SecurityOpt?: string[] };
}

/** The engine's call wrapper: timeout and error translation. */
type Call = <T>(work: Promise<T>, what: string) => Promise<T>;

/** Creates, runs and removes a labelled one-shot container; every capability but the listed ones dropped. */
export async function runThrowAway(api: DockerApi, call: Call, config: ThrowAwayConfig, what: string): Promise<ExecResult> {
  const body = {
    ...config,
    Entrypoint: [],
    Labels: { ...productLabels(), [LABEL.instance]: ONE_SHOT_INSTANCE },
    HostConfig: { ...config.HostConfig, CapDrop: ["ALL"] },
  };
  const { Id: id } = await call(api.json<{ Id: string }>("POST", "/containers/create", { body }), what);
  try {
    await call(api.json("POST", `/containers/${id}/start`), what);
    const waited = await call(api.json<{ StatusCode: number }>("POST", `/containers/${id}/wait`), what);
    const logs = await call(api.stream("GET", `/containers/${id}/logs`, { query: { stdout: true, stderr: true, follow: false } }).then(readAll), what);
    return { exitCode: waited.StatusCode, ...demux(logs) };
  } finally {
    await api.json("DELETE", `/containers/${id}`, { query: { force: true } }).catch(() => undefined);
  }
}
