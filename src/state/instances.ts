/**
 * What lvs-lab remembers about an instance between commands: which engine it lives on,
 * its address blocks and interface names. The containers themselves (found by label)
 * stay the truth about whether it exists.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { stateDir } from "../paths.js";

const recordSchema = z.object({
  name: z.string(),
  lab: z.string(),
  dockerHost: z.string(),
  subnets: z.record(z.string()),
  ifaces: z.record(z.record(z.string())),
  createdAt: z.string(),
});
export type InstanceRecord = z.infer<typeof recordSchema>;

function instancesDir(): string {
  return join(stateDir(), "instances");
}

function recordPath(name: string): string {
  return join(instancesDir(), `${name}.json`);
}

/** Writes atomically (temp file + rename) so an interrupted write never leaves half a file. */
export async function writeJsonAtomic(path: string, data: unknown): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(data, null, 2) + "\n");
  await rename(tmp, path);
}

export async function saveInstanceRecord(record: InstanceRecord): Promise<void> {
  await mkdir(instancesDir(), { recursive: true });
  await writeJsonAtomic(recordPath(record.name), record);
}

/** undefined when missing or unreadable: the record is a cache, never a reason to crash. */
export async function readInstanceRecord(name: string): Promise<InstanceRecord | undefined> {
  try {
    return recordSchema.parse(JSON.parse(await readFile(recordPath(name), "utf8")));
  } catch {
    return undefined;
  }
}

export async function deleteInstanceRecord(name: string): Promise<void> {
  await rm(recordPath(name), { force: true });
}

/** The names of the instances recorded here (a cache: stop deletes a record, a crash may leave one). */
export async function recordedInstanceNames(): Promise<string[]> {
  const files = await readdir(instancesDir()).catch(() => [] as string[]);
  return files.filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -".json".length)).sort();
}
