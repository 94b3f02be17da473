/**
 * QEMU's machine protocol (QMP) on a unix socket: one JSON object per line. After the
 * greeting and `qmp_capabilities`, each command gets one `return` or `error`; events may
 * come in between and are skipped. Enough to stop, save, continue and quit the VM.
 */
import { createConnection, type Socket } from "node:net";
import { createInterface, type Interface } from "node:readline";
import { withTimeout } from "../errors.js";

interface Reply {
  return?: unknown;
  error?: { class: string; desc: string };
  event?: string;
  QMP?: unknown;
}

export class QmpError extends Error {}

export class Qmp {
  private readonly replies: Reply[] = [];
  private waiting: ((r: Reply | undefined) => void) | undefined;
  private ended = false;

  private constructor(
    private readonly socket: Socket,
    private readonly lines: Interface,
  ) {
    lines.on("line", (line) => {
      let reply: Reply;
      try {
        reply = JSON.parse(line) as Reply;
      } catch {
        return;
      }
      if (reply.event !== undefined) return;
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w(reply);
      } else this.replies.push(reply);
    });
    const end = () => {
      this.ended = true;
      this.waiting?.(undefined);
      this.waiting = undefined;
    };
    lines.on("close", end);
    socket.on("error", end);
  }

  /** Connects, reads the greeting and leaves capabilities negotiation mode. */
  static async connect(path: string, timeoutMs = 10_000): Promise<Qmp> {
    const socket = createConnection(path);
    await withTimeout(
      () =>
        new Promise<void>((resolve, reject) => {
          socket.once("connect", resolve);
          socket.once("error", reject);
        }),
      timeoutMs,
      `QEMU's monitor at ${path}`,
    );
    const qmp = new Qmp(socket, createInterface({ input: socket }));
    await withTimeout(() => qmp.next(), timeoutMs, "QEMU's monitor greeting");
    await qmp.execute("qmp_capabilities", undefined, timeoutMs);
    return qmp;
  }

  private next(): Promise<Reply | undefined> {
    const queued = this.replies.shift();
    if (queued || this.ended) return Promise.resolve(queued);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /** Runs one command; its `return` value, or a QmpError with QEMU's own description. */
  async execute(command: string, args?: Record<string, unknown>, timeoutMs = 10_000): Promise<unknown> {
    if (this.ended) throw new QmpError(`QEMU's monitor closed before "${command}"`);
    this.socket.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + "\n");
    const reply = await withTimeout(() => this.next(), timeoutMs, `QEMU's answer to "${command}"`);
    if (!reply) throw new QmpError(`QEMU's monitor closed during "${command}"`);
    if (reply.error) throw new QmpError(`${command}: ${reply.error.desc}`);
    return reply.return;
  }

  close(): void {
    this.lines.close();
    this.socket.destroy();
  }
}
