import { Engine, resolveDockerHost } from "../../src/docker/engine.js";
import { labImageRef } from "../../src/docker/image.js";
import { probeKernel } from "../../src/lab/kernel.js";
import { vmDockerHost } from "../../src/vm/index.js";

/**
 * Where the LVS labs can really run: the local engine if its kernel has ip_vs and ipip,
 * else the lvs-lab VM if it is up. Undefined means "cannot be tested here": such tests
 * are skipped, never passed — and with LVS_LAB_REQUIRE_IPVS=1 (CI) they fail instead.
 */
export async function lvsEngine(): Promise<{ args: string[]; engine: Engine } | undefined> {
  const local = new Engine(resolveDockerHost());
  const image = labImageRef();
  if (await local.imageExists(image)) {
    const k = await probeKernel(local, image);
    if (k.ipvs && k.ipip) return { args: [], engine: local };
  }
  const vm = await vmDockerHost();
  if (vm) return { args: ["--vm"], engine: new Engine(vm) };
  if (process.env.LVS_LAB_REQUIRE_IPVS === "1") {
    throw new Error("LVS_LAB_REQUIRE_IPVS=1 but no engine with ip_vs and ipip is reachable (run `lvs-lab vm up`).");
  }
  return undefined;
}
