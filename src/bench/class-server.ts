/**
 * The class server under a class: N simulated learners (default 30) each send a check
 * result every 2 s to a real `lvs-lab class serve` on 127.0.0.1, while one live view
 * listens on the stream. Measures the server's CPU and resident memory, and the time from
 * a learner's POST to the live view's frame that shows it (event-to-screen, p95 target
 * ≤ 1 s). Traffic stays on 127.0.0.1; the run is bounded by --seconds.
 *
 *   node dist/bench/class-server.js [--learners 30] [--seconds 60] [--every 2] [--out bench/results]
 *
 * Writes class-server.json and class-server.md in --out.
 */
import { spawn } from "node:child_process";
import { mkdtemp, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { ClassView } from "../class/aggregate.js";
import { requestJson } from "../class/learner.js";
import type { LearnerEventInput } from "../class/protocol.js";
import { sseParser } from "../class/watch/stream.js";
import { packageRoot } from "../paths.js";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const LEARNERS = arg("learners", 30);
const SECONDS = arg("seconds", 60);
const EVERY_MS = arg("every", 2) * 1000;
const outIndex = process.argv.indexOf("--out");
const OUT = outIndex > 0 ? process.argv[outIndex + 1]! : join(packageRoot, "bench", "results");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function p(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]! : NaN;
}

/** utime + stime of a process, in seconds, and its resident set in MiB (Linux /proc). */
async function usage(pid: number): Promise<{ cpu: number; rssMiB: number }> {
  const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]!.split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rss = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, "utf8"))?.[1];
  return { cpu: ticks / 100, rssMiB: Number(rss) / 1024 };
}

/** A check result as the dnat lab's step 3 gives it, failing or passing: a realistic size. */
function checkEvent(round: number): Omit<LearnerEventInput, "id"> {
  const passed = round % 2 === 1;
  const probe = (ok: boolean) => ({
    kind: "http",
    node: "client",
    description: "4 requests from client to 198.51.100.50:8001 get answers, replies via-director",
    ok,
    message: ok ? "4 of 4 requests answered by rs1; replies left through the director." : "Only 0 of 4 requests from client to 198.51.100.50:8001 were answered; the rest: timed out.",
    ...(ok ? {} : { path: [{ node: "client", what: "sent 4 SYNs to 198.51.100.50:8001" }, { node: "director", what: "rewrote them to 10.0.1.210:8000 and forwarded them on eth1" }, { node: "rs1", what: "answered via 10.0.1.1 (Docker's gateway), not the director" }] }),
  });
  return {
    at: Date.now(),
    type: "check",
    lab: "dnat",
    instance: "dnat",
    progress: { step: "gateway", passed: ["forward", "dnat-rule"], solvedWithHelp: [], hintsShown: { gateway: round % 3 }, predictions: {}, stepSeconds: round * 2 },
    checks: [{ id: "gateway", passed, probes: [probe(passed), { kind: "route", node: "rs1", description: "rs1: default route via 10.0.1.50 (director)", ok: passed, message: "rs1's default route is via 10.0.1.1, not via 10.0.1.50 (director)." }] }],
  };
}

async function main(): Promise<void> {
  const state = await mkdtemp(join(tmpdir(), "lvs-bench-class-"));
  const server = spawn(process.execPath, [join(packageRoot, "bin", "lvs-lab.js"), "class", "serve", "--port", "0", "--bind", "127.0.0.1", "--json", "--title", "bench"], {
    env: { ...process.env, XDG_STATE_HOME: state },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const cls = await new Promise<{ url: string; joinCode: string; instructorToken: string }>((resolve, reject) => {
    let out = "";
    server.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0]!));
    });
    server.once("exit", (code) => reject(new Error(`class serve exited ${code}`)));
  });
  const tokens: string[] = [];
  for (let i = 0; i < LEARNERS; i++) {
    const r = await requestJson(`${cls.url}/api/join`, { method: "POST", body: { code: cls.joinCode, name: `learner-${String(i + 1).padStart(2, "0")}` }, timeoutMs: 5000 });
    tokens.push((r.body as { token: string }).token);
  }
  const names = tokens.map((_, i) => `learner-${String(i + 1).padStart(2, "0")}`);

  // The live view: when a frame shows a learner's n-th event, that event reached the screen.
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const stream = request(`${cls.url}/api/stream`, { headers: { authorization: `Bearer ${cls.instructorToken}` } }, (res) => {
    res.setEncoding("utf8");
    res.on(
      "data",
      sseParser((event, data) => {
        if (event !== "class") return;
        const arrived = performance.now();
        const view = JSON.parse(data) as ClassView;
        for (const row of view.labs.flatMap((g) => g.rows)) {
          for (let n = row.events; sentAt.has(`${row.name}#${n}`); n--) {
            latencies.push(arrived - sentAt.get(`${row.name}#${n}`)!);
            sentAt.delete(`${row.name}#${n}`);
          }
        }
      }),
    );
  });
  stream.end();

  const before = await usage(server.pid!);
  const began = performance.now();
  let posted = 0;
  let failed = 0;
  const learner = async (i: number) => {
    await sleep((EVERY_MS * i) / LEARNERS);
    for (let round = 1; performance.now() - began < SECONDS * 1000; round++) {
      const next = performance.now() + EVERY_MS;
      const key = `${names[i]}#${round}`;
      sentAt.set(key, performance.now());
      const r = await requestJson(`${cls.url}/api/events`, { method: "POST", token: tokens[i], body: { now: Date.now(), events: [{ ...checkEvent(round), id: `bench-${i}-${round}-${began.toFixed(0)}` }] }, timeoutMs: 5000 }).catch(() => undefined);
      if (r?.status === 200) posted++;
      else {
        failed++;
        sentAt.delete(key);
      }
      await sleep(Math.max(0, next - performance.now()));
    }
  };
  await Promise.all(tokens.map((_, i) => learner(i)));
  await sleep(500);
  const wall = (performance.now() - began) / 1000;
  const after = await usage(server.pid!);
  const logBytes = (await stat(join(state, "lvs-lab", "class-server", "events.jsonl"))).size;
  stream.destroy();
  server.kill("SIGTERM");
  await new Promise((r) => server.once("exit", r));
  await rm(state, { recursive: true, force: true });

  const result = {
    date: new Date().toISOString(),
    machine: { cores: cpus().length, load: loadavg().map((l) => Number(l.toFixed(2))) },
    learners: LEARNERS,
    everySeconds: EVERY_MS / 1000,
    seconds: Number(wall.toFixed(1)),
    events: { posted, failed, perSecond: Number((posted / wall).toFixed(1)) },
    serverCpuPercent: Number(((100 * (after.cpu - before.cpu)) / wall).toFixed(1)),
    serverRssMiB: { start: Number(before.rssMiB.toFixed(1)), end: Number(after.rssMiB.toFixed(1)) },
    eventToScreenMs: { n: latencies.length, median: Math.round(p(latencies, 0.5)), p95: Math.round(p(latencies, 0.95)), max: Math.round(p(latencies, 1)) },
    logBytesPerEvent: Math.round(logBytes / Math.max(1, posted)),
  };
  const md = [
    `# Class server: ${LEARNERS} learners, a check result every ${EVERY_MS / 1000} s (${result.date.slice(0, 10)})`,
    "",
    `${result.machine.cores} cores, load ${result.machine.load.join(" ")}; ${result.seconds} s; ${posted} events (${result.events.perSecond}/s), ${failed} failed.`,
    "",
    "| measure | value | target |",
    "| --- | --- | --- |",
    `| server CPU | ${result.serverCpuPercent} % of one core | |`,
    `| server resident memory | ${result.serverRssMiB.start} → ${result.serverRssMiB.end} MiB | |`,
    `| event to screen (POST → live view frame), median / p95 / max | ${result.eventToScreenMs.median} / ${result.eventToScreenMs.p95} / ${result.eventToScreenMs.max} ms | p95 ≤ 1000 ms |`,
    `| event log | ${result.logBytesPerEvent} bytes per event | |`,
    "",
  ].join("\n");
  await mkdir(OUT, { recursive: true });
  await writeFile(join(OUT, "class-server.json"), JSON.stringify(result, null, 2) + "\n");
  await writeFile(join(OUT, "class-server.md"), md);
  process.stdout.write(md);
}

await main();
