import { describe, expect, it } from "vitest";
import type { VmResults } from "../src/bench/results.js";
import { parseSelftestRecord, vmMarkdown, vmRows, vmTargets } from "../src/bench/vm-report.js";

const measured: VmResults = {
  dockerHost: "tcp://127.0.0.1:23750",
  accel: "tcg",
  givenMiB: 2560,
  otherInstances: 2,
  startMs: [14_200, 9_100, 9_800],
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
      "VM: start dr with the VM running ≤ 10 s (median): 9.80 s true",
      "VM: one command on a node (command runner) ≤ 1 s (p95): p95 1.30 s false",
      "VM: one check of dr step 1 (CLI process) ≤ 1 s (median): 900 ms true",
      "VM: QEMU resident ≤ 1.5 GiB (peak): peak 1600 MiB false",
      "VM: memory given to the VM ≤ 1.5 GiB: 2560 MiB false",
      "VM: selftest of the five LVS labs ≤ 12 min: not measured in this run undefined",
    ]);
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
    expect(md).toContain("| `start dr --no-ui` with the VM running (process, until it returned) | 3 | 9.80 s | 14.20 s | 14.20 s | ≤ 10 s (median) | **met** |");
    expect(md).toContain("| not measured in this run |");
  });

  it("reads a selftest record and refuses what is not one", () => {
    expect(parseSelftestRecord('{"date":"2026-11-27","totalSeconds":700,"labs":{"nat":100,"x":"no"}}')).toEqual({ date: "2026-11-27", totalSeconds: 700, labs: { nat: 100 } });
    expect(parseSelftestRecord('{"date":"2026-11-27"}')).toBeUndefined();
    expect(parseSelftestRecord("not json")).toBeUndefined();
  });
});
