/**
 * One long-lived command runner per container, so that a probe costs a fork in the
 * container instead of a `docker exec` (three engine calls and a runc start: ≈0.7 s on an
 * emulated CPU, seconds under load, against ≈0.05 s here).
 *
 * The runner is a small python3 program (python3-minimal is in the lab image) started with
 * one exec whose stdin stays open. Each request is a line (id, argv, env); each answer a
 * line (id, exit code, stdout, stderr). Commands run concurrently, each with its
 * output in unlinked temporary files, so that a daemon a command leaves behind (keepalived,
 * a responder) cannot hold the answer back: as with `docker exec`, the answer comes when
 * the command itself exits. The runner shows in `ps` as `lvs-lab-agent`; it ends when its
 * stdin closes, that is when the lvs-lab process that opened it ends.
 */
import type { Duplex } from "node:stream";
import { sink, type Docker } from "./api.js";

export interface AgentResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The process name that `ps` shows, and that snapshots leave out of the learner's processes. */
export const AGENT_NAME = "lvs-lab-agent";

// python3-minimal has no json module: fields are base64, NUL-separated lists inside.
const SOURCE = `
import base64, os, subprocess, sys, tempfile, threading
lock = threading.Lock()
def b64(data):
    return base64.b64encode(data).decode()
def answer(rid, code, out, err):
    line = ("%s %d %s %s\\n" % (rid, code, b64(out), b64(err))).encode()
    with lock:
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()
def output(f):
    f.seek(0)
    return f.read()
def run(rid, argv, env):
    try:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            code = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd="/").wait()
            answer(rid, 128 - code if code < 0 else code, output(out), output(err))
    except Exception as e:
        answer(rid, 126, b"", ("lvs-lab-agent: %s" % e).encode())
def items(field):
    data = base64.b64decode(field).decode()
    return data.split("\\0") if data else []
while True:
    line = sys.stdin.buffer.readline()
    if not line:
        break
    rid, argv, env = line.decode().split(" ")
    env = dict(os.environ, **dict(kv.split("=", 1) for kv in items(env)))
    threading.Thread(target=run, args=(rid, items(argv), env), daemon=True).start()
`;

/** The exec that starts the runner: bash names the process, the program comes in the environment. */
export const AGENT_EXEC = {
  Cmd: ["bash", "-c", `exec -a ${AGENT_NAME} python3 -u -c 'import os; exec(os.environ.pop("LVS_LAB_AGENT"))'`],
  Env: [`LVS_LAB_AGENT=${SOURCE}`],
  AttachStdin: true,
  AttachStdout: true,
  AttachStderr: true,
};

export class ExecAgent {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: AgentResult) => void; reject: (e: Error) => void }>();
  private closed = false;
  /** It has answered a request: it runs (a runner that never answers did not start). */
  answered = false;

  private constructor(
    private readonly socket: Duplex,
    private readonly where: string,
  ) {}

  /** Starts the runner in a container; rejects when the engine refuses the exec. */
  static async open(docker: Docker, containerId: string, where: string): Promise<ExecAgent> {
    const exec = await docker.getContainer(containerId).exec(AGENT_EXEC);
    const socket = (await exec.start({ hijack: true, stdin: true, Detach: false, Tty: false })) as Duplex;
    const agent = new ExecAgent(socket, where);
    agent.listen(docker);
    return agent;
  }

  get alive(): boolean {
    return !this.closed;
  }

  run(argv: string[], env: Record<string, string>): Promise<AgentResult> {
    if (this.closed) return Promise.reject(new Error(`the command runner in ${this.where} has ended`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const field = (items: string[]) => Buffer.from(items.join("\0")).toString("base64");
      this.socket.write(`${id} ${field(argv)} ${field(Object.entries(env).map(([k, v]) => `${k}=${v}`))}\n`);
    });
  }

  private listen(docker: Docker): void {
    // An idle runner must not keep lvs-lab alive; a pending request's timer does.
    (this.socket as Duplex & { unref?: () => void }).unref?.();
    let lines = "";
    let errors = "";
    const stdout = sink((chunk) => {
      lines += chunk.toString("utf8");
      const complete = lines.split("\n");
      lines = complete.pop() ?? "";
      for (const line of complete) if (line.trim()) this.settle(line);
    });
    const stderr = sink((chunk) => {
      errors = (errors + chunk.toString("utf8")).slice(-2000);
    });
    docker.modem.demuxStream(this.socket, stdout, stderr);
    this.socket.on("error", () => this.end(errors));
    this.socket.on("close", () => this.end(errors));
    this.socket.on("end", () => this.socket.destroy());
  }

  private settle(line: string): void {
    const [id, code, out, err] = line.split(" ");
    const text = (field = "") => Buffer.from(field, "base64").toString("utf8");
    const p = this.pending.get(Number(id));
    this.pending.delete(Number(id));
    this.answered = true;
    p?.resolve({ exitCode: Number(code), stdout: text(out), stderr: text(err) });
  }

  private end(errors: string): void {
    if (this.closed) return;
    this.closed = true;
    const why = new Error(`the command runner in ${this.where} ended${errors.trim() ? `: ${errors.trim().split("\n").pop()}` : ""}`);
    for (const p of this.pending.values()) p.reject(why);
    this.pending.clear();
  }
}
