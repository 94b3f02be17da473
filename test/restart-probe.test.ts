/**
 * The restart probe judged on outputs recorded on the nat lab's director in lvs-lab's VM
 * (kernel 6.1.0-50-amd64, Docker 20.10): its state script before `docker restart` and its
 * after script once the image's start hook had run, for the step's solution and the
 * lesson's mistakes (test/fixtures/restart/<case>.before.txt and .after.txt), addresses
 * mapped to the topology's defaults. The runner's order (read, restart, read again) is
 * proved with a stand-in for the engine.
 */
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { setLanguage } from "../src/i18n/index.js";
import { restartProbe, sections } from "../src/probes/kinds/restart.js";
import { checkBlockSchema, restartedNodes } from "../src/probes/registry.js";
import { runProbes } from "../src/probes/runner.js";
import type { CommandOutput, ProbeContext } from "../src/probes/types.js";
import { parseTopology } from "../src/topology/load.js";
import { resolveTopology, templateVariables } from "../src/topology/resolve.js";

const topology = resolveTopology(parseTopology(readFileSync(new URL("../topologies/nat.yaml", import.meta.url), "utf8"), "nat.yaml"), {});
const ifaces = { director: { ext: "eth0", int: "eth1" }, rs1: { int: "eth0" }, rs2: { int: "eth0" }, client: { ext: "eth0" } };
const ctx: ProbeContext = { topology, ifaces, vars: templateVariables(topology, ifaces, "nat") };

const [probe] = checkBlockSchema.parse([{ kind: "restart", node: "director", sysctls: ["net.ipv4.ip_forward"] }]);
const p = restartProbe.schema.parse(probe);

const recorded = (name: string): CommandOutput => ({ exitCode: 0, output: readFileSync(new URL(`fixtures/restart/${name}.txt`, import.meta.url), "utf8") });
const judge = (fixture: string, before = fixture) => restartProbe.judge(p, [recorded(`${before}.before`), recorded(`${fixture}.after`)], ctx);

afterEach(() => setLanguage("en"));

describe("restart probe", () => {
  it("reads the director's state before the restart and after it, and restarts the director", () => {
    const plan = restartProbe.collect(p, ctx);
    expect(plan.map((c) => [c.round, c.node])).toEqual([
      [-1, "director"],
      [0, "director"],
    ]);
    expect(restartedNodes([probe!])).toEqual(["director"]);
    expect(sections(recorded("solved.before").output)).toEqual({
      started: ["84602"],
      ipvs: ["-A -t 198.51.100.50:80 -s lc", "-a -t 198.51.100.50:80 -r 10.0.1.210:8000 -m -w 3", "-a -t 198.51.100.50:80 -r 10.0.1.211:8000 -m -w 1"],
      sysctls: ["net.ipv4.ip_forward=1"],
    });
  });

  it("the solution: table and ip_forward came back through /etc/rc.local", () => {
    expect(judge("solved")).toEqual({ ok: true, message: "director came back from a restart with its IPVS table (3 lines of ipvsadm-save -n) and net.ipv4.ip_forward = 1." });
  });

  it("rules saved, never restored: names the saved file and what the hook did", () => {
    expect(judge("rules-not-restored")).toEqual({
      ok: false,
      message:
        "director's IPVS table had 3 lines before the restart and 0 after: /etc/ipvsadm.rules holds 3 lines, but nothing restored them at start (/etc/rc.local ran).",
    });
  });

  it("ip_forward set with sysctl -w only: no file sets it", () => {
    expect(judge("sysctl-w-only")).toEqual({
      ok: false,
      message:
        "director: net.ipv4.ip_forward was 1 before the restart and is 0 after: it was set only in the running kernel (sysctl -w or /proc), and no file in /etc/sysctl.d sets it.",
    });
  });

  it("rules saved before the table's last change: the first difference is named", () => {
    expect(judge("saved-too-early")).toEqual({
      ok: false,
      message:
        "director's IPVS table came back as /etc/ipvsadm.rules holds it, which is not the table it had before the restart (first difference: -A -t 198.51.100.50:80 -s lc): the rules were saved before the table's last change; save them again when the service is complete.",
    });
  });

  it("a hook that is not executable: both losses, each with its cause", () => {
    expect(judge("not-executable")).toEqual({
      ok: false,
      message:
        "director's IPVS table had 3 lines before the restart and 0 after: /etc/ipvsadm.rules holds 3 lines, but nothing restored them at start (/etc/rc.local is not executable: chmod +x it). " +
        "director: net.ipv4.ip_forward was 1 before the restart and is 0 after: /etc/sysctl.d/90-lvs-director.conf sets it, but nothing applied it at start (/etc/rc.local is not executable: chmod +x it); sysctl --system reads /etc/sysctl.d as systemd-sysctl does at boot.",
    });
  });

  it("a PID 1 that did not change: not restarted", () => {
    const before = recorded("solved.before");
    expect(restartProbe.judge(p, [before, { exitCode: 0, output: `@@hook\nran\n${before.output}` }], ctx)).toEqual({
      ok: false,
      message: "director was not restarted: its PID 1 is the one that ran before the check.",
    });
  });

  it("an empty table before the restart: nothing to bring back", () => {
    expect(judge("rules-not-restored", "emptied")).toEqual({
      ok: false,
      message:
        "director had no virtual service before the restart, so there was nothing to bring back: put the service back first (`ipvsadm-restore < /etc/ipvsadm.rules` if you saved it), then check again.",
    });
  });

  it("speaks Chinese", () => {
    setLanguage("zh-CN");
    expect(judge("sysctl-w-only").message).toBe(
      "director：net.ipv4.ip_forward 重启前是 1，重启后是 0：它只在运行中的内核里设置过（sysctl -w 或 /proc），/etc/sysctl.d 里没有任何文件设置它。",
    );
    expect(judge("rules-not-restored").message).toBe(
      "director 的 IPVS 规则表重启前有 3 行，重启后只剩 0 行：/etc/ipvsadm.rules 里保存了 3 行，但启动时没有任何东西恢复它们（/etc/rc.local 已执行）。",
    );
  });
});

describe("a check that restarts a node", () => {
  it("reads before, restarts, then runs the other rounds; a failed restart fails its probe", async () => {
    const probes = checkBlockSchema.parse([{ kind: "restart", node: "director", sysctls: ["net.ipv4.ip_forward"] }]);
    const answer = (script: string, output: string) => {
      const marker = /'(@@lvs-lab-[0-9a-f]+) 0 begin'/.exec(script)![1]!;
      return { exitCode: 0, stderr: "", stdout: `${marker} 0 begin\n${output}${marker} 0 end 0\n` };
    };
    const events: string[] = [];
    const exec = async (node: string, script: string) => {
      const after = script.includes("@@hook");
      events.push(`${after ? "after" : "before"} on ${node}`);
      return answer(script, recorded(after ? "solved.after" : "solved.before").output);
    };
    const [ok] = await runProbes(probes, ctx, exec, async (node) => void events.push(`restart ${node}`));
    expect(events).toEqual(["before on director", "restart director", "after on director"]);
    expect(ok).toMatchObject({ ok: true, kind: "restart" });

    const [failed] = await runProbes(probes, ctx, exec, async () => {
      throw new Error("container is gone");
    });
    expect(failed).toMatchObject({ ok: false, message: "could not restart director: container is gone." });
  });
});
