/**
 * Scripted learners making the classic LVS mistakes on a real kernel: each gets a
 * message that names it. Runs where lvsEngine() finds ip_vs (locally or in the VM).
 */
import { afterAll, describe, expect, it } from "vitest";
import { cli, json } from "./helpers/cli.js";
import { lvsEngine } from "./helpers/lvs-engine.js";

const target = await lvsEngine();
const where = target?.args ?? [];
const started: string[] = [];

async function lab(labId: string, name: string) {
  await cli(["stop", "--name", name]);
  const r = await cli(["start", labId, "--name", name, "--no-ui", "--restart", ...where]);
  expect(r.code, r.stderr).toBe(0);
  started.push(name);
  const sh = (node: string, script: string) => cli(["exec", node, "--name", name, "--", "sh", "-c", script]);
  const solve = (step: number) => cli(["solve", "--name", name, "--step", String(step)]);
  const failures = async (step: number) =>
    (await json<{ probes: Array<{ ok: boolean; message: string }> }>(["check", "--name", name, "--step", String(step)])).probes.filter((p) => !p.ok).map((p) => p.message);
  const vip = async () => /inet (\S+)\/32/.exec((await sh("director", "ip -o -4 addr show")).stdout)?.[1] ?? "";
  return { sh, solve, failures, vip };
}

afterAll(async () => {
  for (const name of started) await cli(["stop", "--name", name]);
});

describe.skipIf(!target)("classic LVS mistakes, named", () => {
  it("dr: the VIP on the real server's eth0, and missing ARP sysctls", async () => {
    const l = await lab("dr", "t-dr-mistakes");
    for (const step of [1, 2]) expect((await l.solve(step)).code).toBe(0);
    const vip = await l.vip();
    await l.sh("rs1", `ip addr add ${vip}/32 dev eth0`);
    await l.sh("rs2", `ip addr add ${vip}/32 dev lo`);
    expect(await l.failures(3)).toContain(
      `rs1 still has ${vip} on eth0 as /32. On its network card rs1 answers ARP for the VIP whatever the ARP sysctls say, and takes the director's traffic; put it on lo.`,
    );
    await l.sh("rs1", `ip addr del ${vip}/32 dev eth0; ip addr add ${vip}/32 dev lo`);
    expect(await l.failures(3)).toEqual([]);
    await l.sh("rs1", "for c in lo all; do echo 1 > /proc/sys/net/ipv4/conf/$c/arp_ignore; echo 2 > /proc/sys/net/ipv4/conf/$c/arp_announce; done");
    const arp = await l.failures(4);
    expect(arp).toContain("rs2: arp_ignore for eth0 is 0 (the larger of all=0 and eth0=0); it must be 1 or 2.");
    expect(arp).toContain("rs2: arp_announce for eth0 is 0 (the larger of all=0 and eth0=0); it must be 2.");
  }, 600_000);

  it("tun: rp_filter left on", async () => {
    const l = await lab("tun", "t-tun-mistakes");
    for (const step of [1, 2, 3]) expect((await l.solve(step)).code).toBe(0);
    await l.sh("rs1", "echo 0 > /proc/sys/net/ipv4/conf/tunl0/rp_filter");
    await l.sh("rs2", "echo 0 > /proc/sys/net/ipv4/conf/tunl0/rp_filter");
    const rp = await l.failures(4);
    expect(rp).toContain("rs1: rp_filter for tunl0 is 1 (the larger of all=1 and tunl0=0); it must be 0 or 2. lo's value 0 is not read for packets arriving on tunl0.");
    expect(rp.some((m) => /^Only 0 of 6 requests .* were answered; the rest: timed out\.$/.test(m))).toBe(true);
  }, 600_000);

  it("failover: equal keepalived priorities", async () => {
    const l = await lab("failover", "t-fo-mistakes");
    expect((await l.solve(1)).code).toBe(0);
    expect((await l.solve(2)).code).toBe(0);
    expect(await l.failures(2)).toEqual([]);
    // The probe reads the running keepalived's priority: restart it with the new file.
    await l.sh("backup", "sed -i 's/priority 100/priority 150/' /etc/keepalived/keepalived.conf; pkill keepalived; while pgrep -x keepalived; do sleep 0.2; done; keepalived; sleep 5");
    const messages = await l.failures(2);
    expect(messages[0]).toMatch(/^The backup's VRRP priority must be lower than the master's\. With equal priorities VRRP prefers the higher address/);
    expect(messages[0]).toMatch(/\(backup says "backup's priority 150, the master advertises 150"\)$/);
  }, 600_000);
});
