import { readFile, readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { UserError } from "../errors.js";
import { t } from "../i18n/index.js";
import { packageRoot } from "../paths.js";
import { parseYaml } from "../yaml.js";
import { topologySchema, type Topology } from "./schema.js";

export const topologiesDir = join(packageRoot, "topologies");

export async function loadTopologyFile(path: string): Promise<Topology> {
  const text = await readFile(path, "utf8");
  return parseTopology(text, relative(process.cwd(), path) || path);
}

export function parseTopology(text: string, file: string): Topology {
  return parseYaml(text, { file }, topologySchema);
}

export async function loadTopology(id: string, dir = topologiesDir): Promise<Topology> {
  const known = await listTopologies(dir);
  if (!known.includes(id)) throw new UserError(t("errors.noTopology", { id, dir, known: known.join(", ") }));
  return loadTopologyFile(join(dir, `${id}.yaml`));
}

export async function listTopologies(dir = topologiesDir): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith(".yaml")).map((f) => f.replace(/\.yaml$/, "")).sort();
}
