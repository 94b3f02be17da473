/** The binary as users get it: selftest, stop --all, and the npm pack tarball. */
import { execa } from "execa";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Engine } from "../src/docker/engine.js";
import { labImageRef } from "../src/docker/image.js";
import { fenceScript } from "../src/lab/isolation.js";
import { cli, json } from "./helpers/cli.js";

const root = fileURLToPath(new URL("..", import.meta.url));

describe("lvs-lab on the real engine", () => {
  it("selftest proves the dnat lab step by step", async () => {
    type Case = { kind: string; name: string; ok: boolean; messages: string[] };
    const r = await json<{ ok: boolean; proofs: Array<{ lab: string; ok: boolean; steps: Array<{ id: string; failedBefore: boolean; passedAfter: boolean; cases: Case[] }> }> }>([
      "selftest",
      "dnat",
    ]);
    expect(r.proofs).toHaveLength(1);
    const steps = r.proofs[0]!.steps;
    expect(steps.map((s) => [s.failedBefore, s.passedAfter])).toEqual([[true, true], [true, true], [true, true]]);
    // Every variant passed and every mistake failed with its words: the lesson's own proof of fairness.
    expect(steps.flatMap((s) => s.cases.filter((c) => !c.ok).map((c) => `${s.id} ${c.kind} ${c.name}: ${c.messages.join(" | ")}`))).toEqual([]);
    expect(steps.map((s) => s.cases.map((c) => `${c.kind} ${c.name}`))).toEqual([
      ["variant sysctl-w", "variant conf-all-forwarding", "mistake on-the-real-server"],
      ["variant by-destination-address", "variant nftables", "mistake inside-interface", "mistake output-chain", "mistake copied-en-dashes"],
      ["variant reference-text", "variant route-to-the-client-network", "mistake backup-default-route", "mistake masquerade-instead"],
    ]);
    expect(r.ok).toBe(true);
  });

  it("refuses an LVS lab on a kernel without ip_vs with one sentence, never as passed", async () => {
    const engine = new Engine();
    const kernelHasIpvs = (await engine.runOnce((await engine.listImages("lvs-lab/lab"))[0]!, ["sh", "-c", "test -e /proc/net/ip_vs"], "ip_vs check")).exitCode === 0;
    if (kernelHasIpvs) return; // this check is about kernels without IPVS
    const r = await cli(["selftest", "nat", "--no-vm"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/nat\s+NOT RUN: needs ip_vs/);
    expect(r.stdout).not.toMatch(/PROVED/);
    const start = await cli(["start", "nat", "--no-ui", "--no-vm", "--name", "t-noipvs"]);
    expect(start.code).toBe(2);
    expect(start.stderr).toMatch(/^lvs-lab: Lab nat needs the kernel module ip_vs, which the kernel running Docker \(.+\) does not have\./);
  });

  it("stop --all leaves no labelled container, network or firewall rule, a crash's rules included", async () => {
    for (const name of ["t-all-1", "t-all-2"]) expect((await cli(["start", "dnat", "--name", name, "--no-ui"])).code).toBe(0);
    const engine = new Engine();
    const rules = async () => (await engine.runOnHost(labImageRef(), "iptables-save -t filter; ip6tables-save -t filter", "reading the rules")).stdout;
    // The rules of an instance whose containers and networks a crash took away.
    await engine.runOnHost(labImageRef(), fenceScript("t-all-crashed", [{ hook: "input", match: "-i br-0dead0000001" }]), "a crash's rules");
    expect(await rules()).toContain('"lvs-lab:t-all-crashed"');
    const stopped = await json<{ stopped: Array<{ name: string }> }>(["stop", "--all"]);
    expect(stopped.stopped.map((s) => s.name)).toEqual(expect.arrayContaining(["t-all-1", "t-all-2"]));
    expect(await engine.listContainers()).toEqual([]);
    expect(await engine.listNetworks()).toEqual([]);
    expect(await rules()).not.toContain("lvs-lab:");
  });

  it("works from the tarball that npm pack makes", async () => {
    const dir = await mkdtemp(join(tmpdir(), "lvs-lab-pack-"));
    try {
      const packed = await execa("npm", ["pack", "--pack-destination", dir], { cwd: root });
      const tarball = join(dir, packed.stdout.trim().split("\n").pop()!);
      await execa("npm", ["init", "-y"], { cwd: dir });
      await execa("npm", ["install", "--no-audit", "--no-fund", tarball], { cwd: dir });
      const list = await execa("npx", ["lvs-lab", "list", "--json"], { cwd: dir });
      expect((JSON.parse(list.stdout) as Array<{ id: string }>).map((l) => l.id)).toContain("dnat");
      const doctor = await execa("npx", ["lvs-lab", "doctor"], { cwd: dir, reject: false });
      expect(doctor.stdout).toMatch(/engine\s+Docker/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
