/**
 * The firewall that fences each instance off: the rule plan, the host scripts run against
 * stub iptables tools over a recorded iptables-nft-save (test/fixtures/isolation), and
 * the session wiring on the in-memory engine. The real host and the VM are in
 * isolation.docker.test.ts and isolation.vm.test.ts.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { labImageRef } from "../src/docker/image.js";
import { fencePlan, fenceScript, unfenceScript } from "../src/lab/isolation.js";
import { startLab, stopAllLabs, stopLab } from "../src/lab/session.js";
import { FakeEngine, type FakeEngineOptions } from "./helpers/fake-engine.js";

const RECORDED = readFileSync(join(import.meta.dirname, "fixtures/isolation/iptables-nft-save.txt"), "utf8");
const LVS_LAB_RULES = /lvs-lab:/;

describe("the rule plan", () => {
  it("drops, per bridge, what reaches the host and what is routed out of or into the network", () => {
    expect(fencePlan([{ name: "lvs-lab-a-ext", bridge: "br-1111" }, { name: "lvs-lab-a-int", bridge: "br-2222" }])).toEqual([
      { hook: "input", match: "-i br-1111" },
      { hook: "forward", match: "-i br-1111 ! -o br-1111" },
      { hook: "forward", match: "-o br-1111 ! -i br-1111" },
      { hook: "input", match: "-i br-2222" },
      { hook: "forward", match: "-i br-2222 ! -o br-2222" },
      { hook: "forward", match: "-o br-2222 ! -i br-2222" },
    ]);
  });

  it("refuses a network without a bridge, or a bridge name that is not an interface name", () => {
    expect(() => fencePlan([{ name: "n", bridge: undefined }])).toThrow("Network n has no usable bridge interface on the engine's host (none), so it cannot be fenced off.");
    expect(() => fencePlan([{ name: "n", bridge: "br-x; reboot" }])).toThrow("(br-x; reboot)");
  });
});

/**
 * A host with stub iptables-nft tools: save prints a state file per family, restore
 * applies -I and -D lines to it all or nothing (a -D of a missing rule fails the batch).
 */
function stubHost(v4: string, v6: string) {
  const dir = mkdtempSync(join(tmpdir(), "lvs-lab-fence-"));
  writeFileSync(join(dir, "iptables.state"), v4);
  writeFileSync(join(dir, "ip6tables.state"), v6);
  const tool = (name: string, body: string) => {
    writeFileSync(join(dir, name), `#!/bin/sh\nstate="${dir}/${name.split("-")[0]}.state"\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  };
  for (const family of ["iptables", "ip6tables"]) {
    tool(`${family}-nft`, 'grep -q "^:DOCKER-USER " "$state"');
    tool(`${family}-nft-save`, 'cat "$state"');
    tool(
      `${family}-nft-restore`,
      `cp "$state" "$state.new"
while IFS= read -r line; do
  case "$line" in
    "-I "*) chain=$(echo "$line" | cut -d' ' -f2); rest=$(echo "$line" | cut -d' ' -f4-); sed -i "/^COMMIT/i -A $chain $rest" "$state.new" ;;
    "-D "*) want="-A \${line#-D }"; grep -qxF -- "$want" "$state.new" || exit 1; grep -vxF -- "$want" "$state.new" > "$state.tmp"; mv "$state.tmp" "$state.new" ;;
  esac
done
mv "$state.new" "$state"`,
    );
  }
  return {
    run: (script: string) => execFileSync("sh", ["-ec", script], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, encoding: "utf8" }),
    rules: (family: "iptables" | "ip6tables") => readFileSync(join(dir, `${family}.state`), "utf8").split("\n").filter((l) => l.startsWith("-A ")),
  };
}

const WITHOUT_OURS = RECORDED.split("\n").filter((l) => !LVS_LAB_RULES.test(l)).join("\n");
const IPV6_WITHOUT_DOCKER = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
const plan = fencePlan([{ name: "ext", bridge: "br-c0ffee000001" }, { name: "int", bridge: "br-c0ffee000002" }]);

describe("the host scripts", () => {
  it("insert the instance's rules into INPUT and DOCKER-USER, and into FORWARD where Docker made no DOCKER-USER (ip6tables)", () => {
    const host = stubHost(WITHOUT_OURS, IPV6_WITHOUT_DOCKER);
    expect(host.run(fenceScript("carol", plan))).toBe("fenced on nft\n");
    const ours = host.rules("iptables").filter((l) => LVS_LAB_RULES.test(l));
    expect(ours.sort()).toEqual(
      [
        "-A INPUT -i br-c0ffee000001 -m comment --comment lvs-lab:carol -j DROP",
        "-A DOCKER-USER -i br-c0ffee000001 ! -o br-c0ffee000001 -m comment --comment lvs-lab:carol -j DROP",
        "-A DOCKER-USER -o br-c0ffee000001 ! -i br-c0ffee000001 -m comment --comment lvs-lab:carol -j DROP",
        "-A INPUT -i br-c0ffee000002 -m comment --comment lvs-lab:carol -j DROP",
        "-A DOCKER-USER -i br-c0ffee000002 ! -o br-c0ffee000002 -m comment --comment lvs-lab:carol -j DROP",
        "-A DOCKER-USER -o br-c0ffee000002 ! -i br-c0ffee000002 -m comment --comment lvs-lab:carol -j DROP",
      ].sort(),
    );
    expect(host.rules("ip6tables").filter((l) => l.startsWith("-A FORWARD"))).toHaveLength(4);
    expect(host.rules("ip6tables").filter((l) => l.startsWith("-A INPUT"))).toHaveLength(2);
  });

  it("replace rather than add up when run again", () => {
    const host = stubHost(WITHOUT_OURS, IPV6_WITHOUT_DOCKER);
    host.run(fenceScript("carol", plan));
    const once = host.rules("iptables");
    host.run(fenceScript("carol", plan));
    expect(host.rules("iptables").sort()).toEqual(once.sort());
  });

  it("remove one instance's rules and leave another's (alice2 is not alice) and Docker's own", () => {
    const host = stubHost(RECORDED, IPV6_WITHOUT_DOCKER);
    const before = host.rules("iptables");
    expect(host.run(unfenceScript("alice"))).toBe("unfenced on nft\n");
    const after = host.rules("iptables");
    expect(after.filter((l) => l.includes('"lvs-lab:alice"'))).toEqual([]);
    expect(after.filter((l) => l.includes('"lvs-lab:alice2"'))).toHaveLength(6);
    expect(after).toEqual(before.filter((l) => !l.includes('"lvs-lab:alice"')));
  });

  it("remove every lvs-lab rule when no instance is named (stop --all after a crash)", () => {
    const host = stubHost(RECORDED, IPV6_WITHOUT_DOCKER);
    host.run(fenceScript("carol", plan));
    host.run(unfenceScript());
    expect(host.rules("iptables").filter((l) => LVS_LAB_RULES.test(l))).toEqual([]);
    expect(host.rules("ip6tables")).toEqual([]);
    expect(host.rules("iptables")).toEqual(WITHOUT_OURS.split("\n").filter((l) => l.startsWith("-A ")));
  });
});

function engine(opts: FakeEngineOptions = {}): FakeEngine {
  const e = new FakeEngine(opts);
  e.images.add(labImageRef());
  return e;
}

describe("an instance's rules live as long as the instance", () => {
  beforeEach(() => {
    process.env.XDG_STATE_HOME = mkdtempSync(join(tmpdir(), "lvs-lab-fence-state-"));
  });

  it("start fences both bridges of the instance, stop removes its rules, stop --all sweeps every lvs-lab rule", async () => {
    const e = engine();
    await startLab("dnat", e, { name: "dave" });
    const bridges = [...e.networks.values()].map((n) => n.bridge!);
    expect(e.hostScripts).toHaveLength(1);
    for (const b of bridges) expect(e.hostScripts[0]).toContain(`-I INPUT 1 -i ${b} -m comment --comment lvs-lab:dave -j DROP`);
    await stopLab(e, "dave");
    expect(e.hostScripts[1]).toContain("retry unfence $family 'lvs-lab:dave'");
    await startLab("dnat", e, { name: "erin" });
    await stopAllLabs(e);
    expect(e.hostScripts.at(-1)).toContain("retry unfence $family 'lvs-lab:[a-z0-9-]+'");
    expect(e.containers.size + e.networks.size).toBe(0);
  });

  it("a stop whose rules cannot be removed still removes the instance (its rules match no bridge any more)", async () => {
    let refuse = false;
    const e = engine({ onHost: () => (refuse ? { exitCode: 125, stdout: "", stderr: "Unable to find image" } : undefined) });
    await startLab("dnat", e, { name: "hank" });
    refuse = true;
    expect(await stopLab(e, "hank")).toEqual({ containers: 3, networks: 2 });
    expect(e.containers.size + e.networks.size).toBe(0);
  });

  it("a host that refuses the rules still gets its lab, with a warning that names the cause", async () => {
    const e = engine({ onHost: () => ({ exitCode: 4, stdout: "", stderr: "iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)" }) });
    const notes: string[] = [];
    await startLab("dnat", e, { name: "frank", onNote: (n) => notes.push(n) });
    expect(notes).toEqual([
      "warning: instance frank is NOT isolated from the engine's host and other instances: Fencing off instance frank on the engine's host failed (exit 4): iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)",
    ]);
  });

  it("a start that fails after the fence takes its rules along", async () => {
    const e = engine({ modules: ["ip_vs"], answer: (node, script) => (node === "client" && script.startsWith("lvs-lab-monitor") ? { exitCode: 1, stdout: "", stderr: "no curl" } : undefined) });
    await expect(startLab("failover", e, { name: "gina" })).rejects.toThrow(/^Setting up client failed/);
    expect(e.hostScripts[0]).toContain("-I INPUT 1");
    expect(e.hostScripts.slice(1).every((s) => s.includes("retry unfence $family 'lvs-lab:gina'") && !s.includes("-I INPUT"))).toBe(true);
    expect(e.hostScripts.length).toBeGreaterThan(1);
    expect(e.containers.size + e.networks.size).toBe(0);
  });
});
