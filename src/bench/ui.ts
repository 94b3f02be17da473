/**
 * TUI frugality: the real binary in a tmux pane, idle on step 1 and re-checking it, its
 * node process sampled once a second (/proc/PID/status VmRSS, /proc/PID/stat utime+stime).
 * Only the node process is counted, not the engine-side cost of the re-checks.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { cleanup, CLI, log, mustSucceed, now, run, shellQuote as q, sleep, stats, topologyNodes, waitReady } from "./common.js";
import type { Flags } from "./flags.js";
import type { BenchResults, UiResults } from "./results.js";

function descendants(pid: number): number[] {
  const kids = new Map<number, number[]>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid)!.push(Number(d));
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => (kids.get(p) ?? []).forEach((c) => (out.push(c), walk(c)));
  walk(pid);
  return out;
}

function procSample(pid: number): { rssKb: number; ticks: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { rssKb, ticks: Number(f[11]) + Number(f[12]) }; // utime + stime (fields 14, 15)
}

/** The pane's node process running bin/lvs-lab.js, once the lab under it is ready. */
async function uiProcess(panePid: number, name: string, nodes: Awaited<ReturnType<typeof topologyNodes>>): Promise<{ pid?: number; ready: boolean }> {
  const deadline = Date.now() + 60_000;
  let pid: number | undefined;
  while (Date.now() < deadline) {
    pid = [panePid, ...descendants(panePid)].find((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8").includes("lvs-lab.js");
      } catch {
        return false;
      }
    });
    if (!pid || !existsSync(`/proc/${pid}`)) break;
    try {
      await waitReady(name, nodes, 1000);
      return { pid, ready: true };
    } catch {
      await sleep(250);
    }
  }
  return { pid, ready: false };
}

export async function sectionUi(results: BenchResults, flags: Flags): Promise<void> {
  if (flags.baselineCli) results.uiBaseline = await idleUi(flags.baselineCli, flags);
  results.ui = await idleUi(CLI, flags);
}

async function idleUi(cli: string, flags: Flags): Promise<UiResults> {
  const name = "bench-ui";
  const session = "bench-ui";
  const out: UiResults = { available: false, seconds: flags.uiSeconds };
  const clk = Number((await run("getconf", ["CLK_TCK"])).stdout.trim()) || 100;
  const nodes = await topologyNodes("dnat");
  await run("tmux", ["kill-session", "-t", session]);
  try {
    const env = flags.uiEnv.map((kv) => `${kv.split("=")[0]}=${q(kv.split("=").slice(1).join("="))} `).join("");
    mustSucceed(await run("tmux", ["new-session", "-d", "-s", session, "-x", "100", "-y", "30", `${env}node ${q(cli)} start dnat --name ${name}`]), "tmux new-session");
    const panePid = Number((await run("tmux", ["list-panes", "-t", session, "-F", "#{pane_pid}"])).stdout.trim());
    const { pid, ready } = await uiProcess(panePid, name, nodes);
    const screen = async () => (await run("tmux", ["capture-pane", "-p", "-t", session])).stdout;
    if (!pid || !ready || !existsSync(`/proc/${pid}`)) {
      out.reason = !pid ? "no lvs-lab node process in the tmux pane" : "the lab did not become ready under the TUI within 60 s";
      out.screen = (await screen().catch(() => "")).trim().slice(0, 1500);
      log(`UI not available: ${out.reason}`);
      return out;
    }
    await sleep(5000); // let the first render and the first checks settle
    const firstScreen = await screen();
    if (!existsSync(`/proc/${pid}`) || /lab ready in/.test(firstScreen)) {
      out.reason = "`start` did not open a TUI (plain output in the pane, or the process ended)";
      out.screen = firstScreen.trim().slice(0, 1500);
      log(`UI not available: ${out.reason}`);
      return out;
    }
    out.available = true;
    out.pid = pid;
    const samples: NonNullable<UiResults["samples"]> = [];
    const first = procSample(pid);
    const t0 = now();
    let last = first;
    let maxSlice = 0;
    let lastT = t0;
    while (now() - t0 < flags.uiSeconds * 1000) {
      await sleep(1000);
      if (!existsSync(`/proc/${pid}`)) {
        out.available = false;
        out.reason = `the TUI process ended after ${Math.round((now() - t0) / 1000)} s`;
        break;
      }
      const s = procSample(pid);
      const t = now();
      samples.push({ t: Math.round(t - t0), rssKb: s.rssKb, ticks: s.ticks });
      maxSlice = Math.max(maxSlice, (s.ticks - last.ticks) / clk / ((t - lastT) / 1000));
      last = s;
      lastT = t;
    }
    const elapsed = (lastT - t0) / 1000;
    const rss = samples.map((s) => s.rssKb / 1024);
    out.rssMb = { ...stats(rss), last: rss[rss.length - 1] };
    out.cpuPercent = elapsed > 0 ? (100 * (last.ticks - first.ticks)) / clk / elapsed : undefined;
    out.cpuPercentMax1s = 100 * maxSlice;
    out.sampledSeconds = Math.round(elapsed);
    out.screen = (await screen()).trim().slice(0, 3000);
    out.samples = samples;
    log(`UI (${cli}): RSS median ${out.rssMb.median?.toFixed(1)} MB, max ${out.rssMb.max?.toFixed(1)} MB, CPU ${out.cpuPercent?.toFixed(2)} % of a core`);
  } finally {
    await run("tmux", ["send-keys", "-t", session, "q"]);
    await sleep(300);
    await run("tmux", ["send-keys", "-t", session, "k"]);
    await sleep(1500);
    await run("tmux", ["kill-session", "-t", session]);
    await run("node", [CLI, "stop", "--name", name]);
    await cleanup(name);
  }
  return out;
}
