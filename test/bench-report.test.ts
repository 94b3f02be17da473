import { describe, expect, it } from "vitest";
import type { VmResults } from "../src/bench/results.js";
import { parseSelftestRecord, startPhases, vmMarkdown, vmRows, vmTargets } from "../src/bench/vm-report.js";

const measured: VmResults = {
  dockerHost: "tcp://127.0.0.1:23750",
  accel: "tcg",
  givenMiB: 2560,
  otherInstances: 2,
  startMs: [14_200, 9_100, 9_800],
  startPhases: { networks: [1.3, 1.1, 1.2], containers: [8.1, 6.0, 6.5], services: [2.2, 1.9, 2.0] },
  bareContainerMs: [3_900, 4_100, 4_000],
  vmPhases: { build: 44.4, disk: 10, boot: 20.1 },
  stopMs: [3_100, 2_900, 3_000],
  execCommand: "ip -o -4 addr show",
  runnerFirstMs: 900,
  runnerMs: [120, 140, 100, 1_300, 130],
  dockerExecMs: [700, 650, 900, 800, 750],
  execFailed: { runner: 0, dockerExec: 1 },
  checkMs: [900, 1_100, 800],
  checkInsideMs: [400, 500, 300],
  checkFailed: 0,
  checkErrors: [],
  qemuRss: [
    { t: 0, mib: 1400 },
    { t: 1, mib: 1600 },
    { t: 2, mib: 1500 },
  ],
  qemuLifetimePeakMiB: 2417,
};

describe("bench vm section report", () => {
  it("puts each figure beside issue 13's target and says met or missed", () => {
    const rows = vmRows(measured);
    const row = (short: string) => rows.find((r) => r.short === short)!;
    expect(row("start dr with the VM running")).toMatchObject({ samples: "3", median: "9.80 s", max: "14.20 s", target: "≤ 10 s (median)", met: true });
    expect(row("one command on a node (command runner)")).toMatchObject({ median: "130 ms", p95: "1.30 s", target: "≤ 1 s (p95)", met: false });
    expect(row("one check of dr step 1 (CLI process)")).toMatchObject({ median: "900 ms", met: true });
    expect(row("one check of dr step 1 (CLI process)").what).toContain("the check itself 400 ms median");
    expect(row("QEMU resident")).toMatchObject({ samples: "3", median: "1500 MiB", max: "1600 MiB", met: false });
    expect(row("memory given to the VM")).toMatchObject({ median: "2560 MiB", met: false });
    const docker = rows.find((r) => r.what.includes("plain `docker exec`"))!;
    expect(docker).toMatchObject({ samples: "5 (1 failed)", median: "750 ms", target: "–", met: undefined });
    expect(rows.find((r) => r.what.startsWith("the runner's first command"))?.median).toBe("900 ms");
  });

  it("says the selftest was not measured when there is no record", () => {
    const selftest = vmRows(measured).at(-1)!;
    expect(selftest).toMatchObject({ target: "≤ 12 min", note: "not measured in this run" });
    expect(selftest.met).toBeUndefined();
    expect(vmTargets(measured).at(-1)).toEqual({ what: "VM: selftest of the five LVS labs ≤ 12 min", value: "not measured in this run", met: undefined });
  });

  it("judges the selftest total from the record, and not a record missing a lab", () => {
    const labs = { nat: 120, schedulers: 200, dr: 150, tun: 100, failover: 180 };
    const whole = vmRows({ ...measured, selftest: { date: "2026-11-27T20:00:00Z", totalSeconds: 750, labs } }).at(-1)!;
    expect(whole).toMatchObject({ median: "750.00 s", met: false });
    expect(whole.what).toContain("selftest-vm.json, 2026-11-27");
    const { failover: _, ...four } = labs;
    const partial = vmRows({ ...measured, selftest: { date: "2026-11-27T20:00:00Z", totalSeconds: 600, labs: four } }).at(-1)!;
    expect(partial).toMatchObject({ note: "n/a: failover not in the record" });
    expect(partial.met).toBeUndefined();
  });

  it("lists the targets with the figure each one judges", () => {
    expect(vmTargets(measured).map((t) => `${t.what}: ${t.value} ${t.met}`)).toEqual([
      "VM: first start dr, nothing cached ≤ 3 min: 84.30 s true",
      "VM: start dr with the VM cached, not running ≤ 15 s: 29.90 s false",
      "VM: start dr with the VM running ≤ 10 s (median): 9.80 s true",
      "VM: one command on a node (command runner) ≤ 1 s (p95): p95 1.30 s false",
      "VM: one check of dr step 1 (CLI process) ≤ 1 s (median): 900 ms true",
      "VM: QEMU resident ≤ 1.5 GiB (peak): peak 1600 MiB false",
      "VM: memory given to the VM ≤ 1.5 GiB: 2560 MiB false",
      "VM: selftest of the five LVS labs ≤ 12 min: not measured in this run undefined",
    ]);
  });

  it("says where the time goes, from the same run's figures", () => {
    const rows = vmRows(measured);
    const why = (short: string) => rows.find((r) => r.short === short)!.why;
    expect(why("start dr with the VM running")).toBe(
      "its phases (median): networks 1.2 s, containers 6.5 s, services 2.0 s; one bare `docker run --rm --network none --entrypoint true` of the lab image in the VM, no lvs-lab code: 4.00 s; Docker under an emulated CPU is the wall (runc, the shim, network set-up per container)",
    );
    expect(why("start dr with the VM cached, not running")).toBe("boot 20.1 s (no resume measured here yet), `start dr` with the VM running 9.80 s");
    expect(why("first start dr, nothing cached")).toBe("build 44.4 s, data disk 10.0 s, boot 20.1 s, `start dr` with the VM running 9.80 s");
    expect(why("one check of dr step 1 (CLI process)")).toBe(
      "a new process: Node's start and lvs-lab's modules, opening each node's command runner (one `docker exec`, the first command above: 900 ms; the nodes in parallel on one emulated CPU), then the probes (the check itself 400 ms)",
    );
    expect(why("memory given to the VM")).toBe("LVS_LAB_VM_MEMORY_MIB asked for more than the default 1536 MiB (the tests do, to keep several labs up)");
    const labs = { nat: 120, schedulers: 200, dr: 150, tun: 100, failover: 180 };
    expect(vmRows({ ...measured, selftest: { date: "2026-11-27", totalSeconds: 750, labs } }).at(-1)!.why).toBe(
      "each lab alone: nat 120 s, schedulers 200 s, dr 150 s, tun 100 s, failover 180 s; every step and case replays under an emulated CPU",
    );
  });

  it("composes the cached start from the resume measured here, once there is one", () => {
    const cached = vmRows({ ...measured, resumeSeconds: 3.2 }).find((r) => r.short === "start dr with the VM cached, not running")!;
    expect(cached).toMatchObject({ median: "13.00 s", target: "≤ 15 s", met: true });
    expect(cached.what).toContain("resume from timings.json");
    expect(cached.why).toBe("resume of the saved VM 3.2 s (a cold boot: 20.1 s), `start dr` with the VM running 9.80 s");
  });

  it("reads start's phase lines", () => {
    const out = "· Lab dr needs ip_vs …\n· networks: creating 1 network\n· networks: ready in 1.3 s\n· containers: ready in 27.6 s\n· services: ready in 7.1 s\n· lab ready in 42.0 s\n";
    expect(startPhases(out)).toEqual({ networks: 1.3, containers: 27.6, services: 7.1 });
  });

  it("does not time a check process that gave no report, and says why", () => {
    const crashed = vmRows({ ...measured, checkMs: [], checkInsideMs: [], checkErrors: ["exit 1: ReferenceError: t is not defined", "exit 1: x"] });
    const row = crashed.find((r) => r.short === "one check of dr step 1 (CLI process)")!;
    expect(row).toMatchObject({ samples: "0", median: "–" });
    expect(row.met).toBeUndefined();
    expect(row.what).toContain("2 gave no report: exit 1: ReferenceError: t is not defined");
  });

  it("prints one line when the section was skipped, and no targets", () => {
    const skipped: VmResults = { ...measured, skipped: "the lvs-lab VM is not running" };
    expect(vmMarkdown(skipped)).toEqual(["VM section skipped: the lvs-lab VM is not running.", ""]);
    expect(vmTargets(skipped)).toEqual([]);
  });

  it("prints a table with a header line and one line per row", () => {
    const md = vmMarkdown(measured).join("\n");
    expect(md).toContain("## lvs-lab VM (QEMU tcg, 2560 MiB given, tcp://127.0.0.1:23750; 2 other lab instance(s)");
    expect(md).toContain("| `start dr --no-ui` with the VM running (process, until it returned) | 3 | 9.80 s | 14.20 s | 14.20 s | ≤ 10 s (median) | **met** | its phases (median): networks 1.2 s,");
    expect(md).toContain("| not measured in this run |");
  });

  it("reads a selftest record and refuses what is not one", () => {
    expect(parseSelftestRecord('{"date":"2026-11-27","totalSeconds":700,"labs":{"nat":100,"x":"no"}}')).toEqual({ date: "2026-11-27", totalSeconds: 700, labs: { nat: 100 } });
    expect(parseSelftestRecord('{"date":"2026-11-27"}')).toBeUndefined();
    expect(parseSelftestRecord("not json")).toBeUndefined();
  });
});
