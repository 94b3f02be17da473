/**
 * The class's memory: an append-only JSON-lines file, one record per line, written before
 * anything is acknowledged. Starting the server again replays it, so a restart loses
 * nothing. A line cut short by a crash, or one that no longer parses, is skipped and
 * counted, never fatal.
 */
import { mkdir, open, readFile, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { learnerEventSchema } from "./protocol.js";

const t = z.number().int().nonnegative();
const id = z.string().min(1).max(64);

export const logRecordSchema = z.discriminatedUnion("r", [
  z.object({ r: z.literal("class"), t, title: z.string().max(200) }),
  z.object({ r: z.literal("join"), t, learner: id, name: z.string().max(200), tokenHash: z.string().length(64) }),
  /** `t` is the event's time on the server's clock; `e` is the event as validated. */
  z.object({ r: z.literal("event"), t, learner: id, e: learnerEventSchema }),
  z.object({ r: z.literal("leave"), t, learner: id }),
  z.object({ r: z.literal("offer"), t, id, lab: z.string().max(40), step: z.number().int().min(1), learner: id.optional() }),
  z.object({ r: z.literal("say"), t, id, text: z.string().max(2000), learner: id.optional() }),
]);
export type LogRecord = z.infer<typeof logRecordSchema>;

export interface Replayed {
  records: LogRecord[];
  /** Lines that did not parse (a crash cut the last one short, or the file was edited). */
  skipped: number;
}

export function parseLog(text: string): Replayed {
  const records: LogRecord[] = [];
  let skipped = 0;
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      records.push(logRecordSchema.parse(JSON.parse(line)));
    } catch {
      skipped++;
    }
  }
  return { records, skipped };
}

export class EventLog {
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    readonly path: string,
    private readonly file: FileHandle,
  ) {}

  /** Opens (or creates) the log and returns what it held. */
  static async open(path: string): Promise<{ log: EventLog; replayed: Replayed }> {
    await mkdir(dirname(path), { recursive: true });
    const text = await readFile(path, "utf8").catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") return "";
      throw e;
    });
    const file = await open(path, "a", 0o600);
    // A line cut short by a crash must not swallow the next record.
    if (text.length && !text.endsWith("\n")) await file.appendFile("\n");
    return { log: new EventLog(path, file), replayed: parseLog(text) };
  }

  /** Appends records in order and waits until they are on disk. */
  append(records: LogRecord[]): Promise<void> {
    const lines = records.map((r) => JSON.stringify(r) + "\n").join("");
    const done = this.writing.then(async () => {
      await this.file.appendFile(lines);
      await this.file.datasync();
    });
    // A failed write fails its caller; later writes still run.
    this.writing = done.catch(() => undefined);
    return done;
  }

  async close(): Promise<void> {
    await this.writing;
    await this.file.close();
  }
}
