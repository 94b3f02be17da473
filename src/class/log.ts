/**
 * The class's memory: an append-only JSON-lines file, one record per line, written before
 * anything is acknowledged. Starting the server again replays it, so a restart loses
 * nothing. A line cut short by a crash, or one that no longer parses, is skipped and
 * counted, never fatal. Replay streams the file line by line: memory holds one line (at
 * most MAX_LINE bytes; a longer one is skipped unread), never the file.
 */
import { createReadStream } from "node:fs";
import { mkdir, open, stat, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod/v4";
import { learnerEventSchema, LIMITS } from "./protocol.js";

const t = z.number().int().nonnegative();
const id = z.string().min(1).max(64);

export const logRecordSchema = z.discriminatedUnion("r", [
  z.object({ r: z.literal("class"), t, title: z.string().max(LIMITS.titleLength) }),
  z.object({ r: z.literal("join"), t, learner: id, name: z.string().max(200), tokenHash: z.string().length(64) }),
  /** `t` is the event's time on the server's clock; `e` is the event as validated. */
  z.object({ r: z.literal("event"), t, learner: id, e: learnerEventSchema }),
  z.object({ r: z.literal("leave"), t, learner: id }),
  z.object({ r: z.literal("offer"), t, id, lab: z.string().max(40), step: z.number().int().min(1), learner: id.optional() }),
  z.object({ r: z.literal("say"), t, id, text: z.string().max(2000), learner: id.optional() }),
]);
export type LogRecord = z.infer<typeof logRecordSchema>;

/** The longest line a record can make (an event is at most a 256 KiB body); longer is not a record. */
export const MAX_LINE = 1024 * 1024;

/** The bytes a record takes in the log, its newline included. */
export function recordBytes(record: LogRecord): number {
  return Buffer.byteLength(JSON.stringify(record)) + 1;
}

export interface Replayed {
  records: LogRecord[];
  /** Lines that did not parse (a crash cut the last one short, or the file was edited). */
  skipped: number;
}

function parseLine(line: string): LogRecord | undefined {
  if (!line.trim()) return undefined;
  try {
    return logRecordSchema.parse(JSON.parse(line));
  } catch {
    return undefined;
  }
}

export function parseLog(text: string): Replayed {
  const records: LogRecord[] = [];
  let skipped = 0;
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const record = parseLine(line);
    if (record) records.push(record);
    else skipped++;
  }
  return { records, skipped };
}

/** Thrown by `EventLog.open` for a log larger than a class may hold: replaying it would take minutes and gigabytes. */
export class LogTooLarge extends Error {
  constructor(
    readonly path: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super(`the event log ${path} holds ${size} bytes, more than ${limit}`);
  }
}

/**
 * Calls `each` with every record of the file, in order, reading it in chunks; returns how
 * many records there were and how many lines were skipped.
 */
export async function replayLog(path: string, each: (record: LogRecord, bytes: number) => void): Promise<{ records: number; skipped: number; endsWithNewline: boolean }> {
  let records = 0;
  let skipped = 0;
  let parts: Buffer[] = [];
  let partBytes = 0;
  let tooLong = false;
  let last = 0x0a;
  const line = (bytes: number) => {
    const text = tooLong ? "" : Buffer.concat(parts).toString("utf8");
    if (tooLong) skipped++;
    else if (text.trim()) {
      const record = parseLine(text);
      if (record) {
        records++;
        each(record, bytes + 1);
      } else skipped++;
    }
    parts = [];
    partBytes = 0;
    tooLong = false;
  };
  const stream = createReadStream(path, { highWaterMark: 256 * 1024 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let from = 0;
      for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, from)) {
        if (!tooLong) parts.push(chunk.subarray(from, nl));
        line(partBytes + nl - from);
        from = nl + 1;
      }
      if (from < chunk.length) {
        partBytes += chunk.length - from;
        if (partBytes > MAX_LINE) {
          tooLong = true;
          parts = [];
        } else parts.push(chunk.subarray(from));
      }
      if (chunk.length) last = chunk[chunk.length - 1]!;
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { records: 0, skipped: 0, endsWithNewline: true };
    throw e;
  }
  if (partBytes || tooLong) line(partBytes);
  return { records, skipped, endsWithNewline: last === 0x0a };
}

export class EventLog {
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    readonly path: string,
    private readonly file: FileHandle,
    /** Bytes in the file: what was there, and what was appended since. */
    public size: number,
  ) {}

  /**
   * Opens (or creates) the log, after handing every record it holds to `each`. A log over
   * `maxBytes` is not read at all (LogTooLarge).
   */
  static async open(path: string, each: (record: LogRecord, bytes: number) => void = () => undefined, maxBytes = Infinity): Promise<{ log: EventLog; replayed: { records: number; skipped: number } }> {
    await mkdir(dirname(path), { recursive: true });
    const size = await stat(path).then(
      (s) => s.size,
      () => 0,
    );
    if (size > maxBytes) throw new LogTooLarge(path, size, maxBytes);
    const { records, skipped, endsWithNewline } = await replayLog(path, each);
    const file = await open(path, "a", 0o600);
    const log = new EventLog(path, file, size);
    // A line cut short by a crash must not swallow the next record.
    if (!endsWithNewline) {
      await file.appendFile("\n");
      log.size += 1;
    }
    return { log, replayed: { records, skipped } };
  }

  /** Appends records in order and waits until they are on disk. */
  append(records: LogRecord[]): Promise<void> {
    const lines = records.map((r) => JSON.stringify(r) + "\n").join("");
    this.size += Buffer.byteLength(lines);
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
