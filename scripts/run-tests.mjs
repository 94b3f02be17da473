#!/usr/bin/env node
// `npm test`: two lanes at once, so that both cores work for the whole run.
//   kernel: the tests on the shared lvs-lab VM (*.vm.test.ts, slow: an emulated CPU, one core);
//   host:   everything else, on the host engine; then the tests that boot QEMU VMs of their
//           own (OWN_VM); then, where the shared VM runs, the selftests of SECOND_VM_LABS on a
//           second VM: the core the host tests leave free carries them instead of the shared
//           VM's core, which the other selftests keep busy.
// Each run prints its own report; the last line is the sum that CI reads:
// "N passed, N failed[, N skipped]".
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const vitest = ["node_modules/vitest/vitest.mjs", "run"];
/** lvs-lab itself, awaited without blocking: the other lane's output keeps flowing meanwhile. */
function lvsLab(args, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["bin/lvs-lab.js", ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (out += c));
    child.on("close", (status) => resolve({ status, out }));
  });
}
/** VM tests that boot and stop VMs in caches of their own; they never touch the shared VM. */
const OWN_VM = ["test/vm-auto.vm.test.ts", "test/modules.vm.test.ts", "test/vm.vm.test.ts"];
/** The labs whose selftests (test/lvs.vm.test.ts) run on the second VM. */
const SECOND_VM_LABS = ["tun", "dr"];

const vmRunning = await lvsLab(["vm", "status", "--json"], {}).then((r) => {
  try {
    return JSON.parse(r.out).running === true;
  } catch {
    return false;
  }
});

/** A cache of its own for the second VM: the shared VM's build and data disks linked (src/vm/recipe.ts). */
async function secondVmCache() {
  const { shareBuild } = await import("../dist/vm/recipe.js");
  const base = mkdtempSync(join(tmpdir(), "lvs-lab-second-vm-"));
  shareBuild(base);
  return base;
}

const secondVm = vmRunning ? { XDG_CACHE_HOME: await secondVmCache() } : undefined;
const lanes = [
  [{ name: "kernel", args: [".vm.test.", ...OWN_VM.flatMap((f) => ["--exclude", f])], env: secondVm ? { LVS_LAB_SELFTEST_SKIP: SECOND_VM_LABS.join(",") } : {} }],
  [
    // The host tests get a cache of their own, where no VM is: their `stop --all` and
    // leftover checks must not reach the kernel tests' labs in the VM running beside them.
    { name: "host", args: ["--exclude", "**/*.vm.test.ts"], env: { XDG_CACHE_HOME: mkdtempSync(join(tmpdir(), "lvs-lab-host-tests-")) } },
    { name: "own-vm", args: OWN_VM, env: {} },
    ...(secondVm
      ? [{ name: "kernel-2", args: ["test/lvs.vm.test.ts", "-t", "selftest proves"], env: { ...secondVm, LVS_LAB_SELFTEST_ONLY: SECOND_VM_LABS.join(",") }, vm: true }]
      : []),
  ],
];

function run({ name, args, env }) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...vitest, ...args, ...process.argv.slice(2)], { env: { ...process.env, ...env, FORCE_COLOR: "0" } });
    let totals = { passed: 0, failed: 1, skipped: 0 };
    const prefix = (chunk) =>
      chunk
        .toString()
        .split("\n")
        .filter((l, i, all) => l || i < all.length - 1)
        .map((l) => {
          const m = /^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/.exec(l.trim());
          if (m) totals = { passed: Number(m[1]), failed: Number(m[2]), skipped: Number(m[3] ?? 0) };
          return `[${name}] ${l}\n`;
        })
        .join("");
    child.stdout.on("data", (c) => process.stdout.write(prefix(c)));
    child.stderr.on("data", (c) => process.stderr.write(prefix(c)));
    child.on("close", (code) => resolve({ name, code, totals }));
  });
}

/** A run with `vm`: its VM is booted before (a failed boot fails the run) and stopped after. */
async function runWithVm(r) {
  const up = await lvsLab(["vm", "up"], r.env);
  if (up.status !== 0) {
    console.log(`[${r.name}] lvs-lab vm up failed (exit ${up.status}): ${up.out}`);
    return { name: r.name, code: 1, totals: { passed: 0, failed: 1, skipped: 0 } };
  }
  try {
    return await run(r);
  } finally {
    await lvsLab(["vm", "down"], r.env);
    rmSync(r.env.XDG_CACHE_HOME, { recursive: true, force: true });
  }
}

async function runLane(runs) {
  const results = [];
  for (const r of runs) results.push(await (r.vm ? runWithVm(r) : run(r)));
  return results;
}

const results = (await Promise.all(lanes.map(runLane))).flat();
const sum = (k) => results.reduce((a, r) => a + r.totals[k], 0);
for (const r of results) console.log(`${r.name}: ${r.totals.passed} passed, ${r.totals.failed} failed${r.totals.skipped ? `, ${r.totals.skipped} skipped` : ""} (exit ${r.code})`);
const skipped = sum("skipped");
console.log(`\n${sum("passed")} passed, ${sum("failed")} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(results.some((r) => r.code !== 0) ? 1 : 0);
