/**
 * The LVS labs on a kernel with IPVS (local, or the lvs-lab VM): selftest proves each
 * lab, and a scripted learner's classic mistakes get messages that name them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, json } from "./helpers/cli.js";
import { lvsEngine } from "./helpers/lvs-engine.js";

const target = await lvsEngine();
const where = target?.args ?? [];
// failover first: the longest, it runs beside the others instead of after them.
// `npm test` proves some labs on a second VM (scripts/run-tests.mjs): LVS_LAB_SELFTEST_ONLY
// and LVS_LAB_SELFTEST_SKIP (comma lists) say which labs this run proves.
const listed = (name: string) => process.env[name]?.split(",").filter(Boolean);
const LVS_LABS = ["failover", "nat", "schedulers", "persistence", "dr", "tun"].filter(
  (lab) => (listed("LVS_LAB_SELFTEST_ONLY") ?? [lab]).includes(lab) && !(listed("LVS_LAB_SELFTEST_SKIP") ?? []).includes(lab),
);
/** A whole lab's proof under emulation, two at a time: minutes, not seconds. */
const SELFTEST_MS = 3_600_000;

interface Proof {
  ok: boolean;
  proofs: Array<{ lab: string; ok: boolean; error?: string; steps: Array<{ step: number; failedBefore: boolean; passedAfter: boolean; surprises: string[] }> }>;
  notRun: unknown[];
}

// Two labs at a time (vitest's maxConcurrency): much of a selftest waits for timeouts and
// settling, which another lab's selftest can use; more would crowd the emulated CPU.
describe.skipIf(!target).concurrent("LVS labs on a kernel with ip_vs", () => {
  for (const lab of LVS_LABS) {
    it(`selftest proves ${lab}, with every variant and mistake`, async () => {
      const r = await json<Proof>(["selftest", lab, ...where], SELFTEST_MS - 60_000);
      const proof = r.proofs[0]!;
      expect(proof.error).toBeUndefined();
      expect(proof.steps.flatMap((s) => s.surprises.map((why) => `step ${s.step}: ${why}`))).toEqual([]);
      expect(proof.steps.filter((s) => !s.failedBefore || !s.passedAfter)).toEqual([]);
      expect(proof.ok).toBe(true);
    }, SELFTEST_MS);
  }
});

describe.skipIf(!target)("a scripted learner in the nat lab", () => {
  const NAME = "t-nat";
  const on = (node: string, script: string) => cli(["exec", node, "--name", NAME, "--", "sh", "-c", script]);
  const check = (step: number) => json<{ passed: boolean; probes: Array<{ ok: boolean; message: string }> }>(["check", "--name", NAME, "--step", String(step)]);
  const failures = async (step: number) => (await check(step)).probes.filter((p) => !p.ok).map((p) => p.message);
  let vip = "";
  let rs1 = "";
  let rs2 = "";
  let gw = "";

  beforeAll(async () => {
    await cli(["stop", "--name", NAME]);
    const started = await cli(["start", "nat", "--name", NAME, "--no-ui", "--restart", ...where]);
    expect(started.code, started.stderr).toBe(0);
    const addr = async (node: string, re: RegExp) => re.exec((await on(node, "ip -o -4 addr show")).stdout)![1]!;
    vip = await addr("director", /inet (198\.(?:51\.100|1[89]\.\d+)\.\d+)\//);
    gw = await addr("director", /inet (10\.\d+\.\d+\.\d+)\//);
    rs1 = await addr("rs1", /inet (10\.\d+\.\d+\.\d+)\//);
    rs2 = await addr("rs2", /inet (10\.\d+\.\d+\.\d+)\//);
  }, 600_000);

  afterAll(async () => {
    await cli(["stop", "--name", NAME]);
  });

  it("types the reference text's commands and passes", async () => {
    await on("director", "echo 1 > /proc/sys/net/ipv4/ip_forward");
    for (const rs of ["rs1", "rs2"]) await on(rs, `route del default; route add default gw ${gw}`);
    await on("director", `ipvsadm -A -t ${vip}:80 -s rr && ipvsadm -a -t ${vip}:80 -r ${rs1}:8000 -m && ipvsadm -a -t ${vip}:80 -r ${rs2}:8000 -m`);
    expect(await failures(4)).toEqual([]);
  }, 300_000);

  it("names the wrong forwarding flag and a weight of 0", async () => {
    await on("director", `ipvsadm -d -t ${vip}:80 -r ${rs2}:8000 && ipvsadm -a -t ${vip}:80 -r ${rs2}:8000 -g`);
    expect((await failures(4))[0]).toBe(`director: real server ${rs2} (rs2) is added with -g (direct routing), this lab needs -m (masquerading/NAT).`);
    // With -g ipvsadm stored rs2 on the service port 80; replace it by a NAT entry of weight 0.
    await on("director", `ipvsadm -d -t ${vip}:80 -r ${rs2}:80 && ipvsadm -a -t ${vip}:80 -r ${rs2}:8000 -m -w 0`);
    await on("director", `ipvsadm -E -t ${vip}:80 -s wrr && ipvsadm -e -t ${vip}:80 -r ${rs1}:8000 -m -w 3`);
    expect((await failures(5))[0]).toBe(
      `director: real server ${rs2} (rs2) has weight 0, expected 1 — weight 0 means quiesced: it gets no new connections. ` +
        '(`ipvsadm -e` must repeat -m; without it ipvsadm assumes -g, looks for the server on port 80 and answers "No such destination".)',
    );
  }, 300_000);

  it("explains a cleared IPVS table", async () => {
    await on("director", "ipvsadm -C");
    expect((await failures(4))[0]).toBe(`director has no virtual service TCP ${vip}:80 (\`ipvsadm -Ln\` lists none).`);
  }, 300_000);
});
