/** Short-lived containers that run one command and are removed, and reading their output. */
import { collectOutput, type Docker } from "./api.js";
import type { ExecResult } from "./engine.js";
import { LABEL, ONE_SHOT_INSTANCE, productLabels } from "./labels.js";

export interface ThrowAwayConfig {
  Image: string;
  Cmd: string[];
  Env?: string[];
  HostConfig: {
    CapAdd: string[];
    NetworkMode: string;
    ReadonlyPaths: string[];
    SecurityOpt?: string[];
    /** Bind mounts that must exist on the engine host (a Mounts entry, unlike Binds, never creates its source). */
    Mounts?: Array<{ Type: "bind"; Source: string; Target: string; ReadOnly: boolean }>;
  };
}

/** The engine's call wrapper: timeout and error translation. */
type Call = <T>(work: Promise<T>, what: string) => Promise<T>;

/** Creates, runs and removes a labelled one-shot container; every capability but the listed ones dropped. */
export async function runThrowAway(docker: Docker, call: Call, config: ThrowAwayConfig, what: string): Promise<ExecResult> {
  // The command as entrypoint and arguments, not Entrypoint [] and Cmd: Podman reads an
  // empty Entrypoint as "the image's" (lvs-lab-init, which never ends), Docker as "none".
  const [entrypoint, ...args] = config.Cmd;
  const body = {
    ...config,
    Entrypoint: [entrypoint],
    Cmd: args,
    Labels: { ...productLabels(), [LABEL.instance]: ONE_SHOT_INSTANCE },
    HostConfig: { ...config.HostConfig, CapDrop: ["ALL"] },
  };
  const container = await call(docker.createContainer(body), what);
  try {
    await call(container.start(), what);
    const waited = (await call(container.wait(), what)) as { StatusCode: number };
    // The container has ended: following its logs reads them to their end.
    const logs = await call(container.logs({ stdout: true, stderr: true, follow: true }), what);
    return { exitCode: waited.StatusCode, ...(await call(collectOutput(docker, logs), what)) };
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}
