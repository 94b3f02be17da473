/** The bench's command line (see bench/README.md). */
import { join } from "node:path";
import { root } from "./common.js";

export const SECTIONS = ["start", "check", "stop", "scale", "ui", "vm"] as const;
export type Section = (typeof SECTIONS)[number];

export interface Flags {
  quick: boolean;
  runs: number;
  samples: number;
  uiSeconds: number;
  uiEnv: string[];
  stopRuns: number;
  parallelStopRuns: number;
  scaleRounds: number;
  scale: number[];
  only: Set<string> | null;
  out: string;
  /** Another build's bin/lvs-lab.js, timed interleaved with this one (before/after a change). */
  baselineCli?: string;
  help: boolean;
}

export const USAGE = `usage: npm run bench -- [--quick] [--runs N] [--samples N] [--ui-seconds N]
                        [--only start,check,stop,scale,ui,vm] [--scale 1,2,4,8] [--out DIR]
  --quick        fewer runs (3 starts per method, 8 check samples, 1 scale round, 30 s UI)
  --runs N       warm-start runs per method (default 7)
  --samples N    check-latency samples (default 20)
  --ui-seconds N idle TUI sampling window (default 120)
  --ui-env K=V   environment for the TUI process (repeatable), e.g. NODE_ENV=production
  --only LIST    run only these sections (vm: in lvs-lab's VM when it runs, else skipped;
                 --runs starts of dr there, --samples commands and checks)
  --out DIR      where latest.md / latest.json go (default bench/results; vm.md / vm.json
                 for --only vm)
  --baseline-cli PATH  also time another build's bin/lvs-lab.js (e.g. the commit before a
                 change), interleaved: start, check, stop and the UI rows get a baseline twin`;

export function parseFlags(argv: string[]): Flags {
  const f: Flags = {
    quick: false,
    runs: 7,
    samples: 20,
    uiSeconds: 120,
    uiEnv: [],
    stopRuns: 5,
    parallelStopRuns: 3,
    scaleRounds: 2,
    scale: [1, 2, 4, 8],
    only: null,
    out: join(root, "bench", "results"),
    help: false,
  };
  const set = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    const num = (): number => {
      const n = Number(val());
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${a} needs a positive number`);
      return n;
    };
    if (a === "--quick") f.quick = true;
    else if (a === "--runs") (f.runs = num()), set.add("runs");
    else if (a === "--samples") (f.samples = num()), set.add("samples");
    else if (a === "--ui-seconds") (f.uiSeconds = num()), set.add("uiSeconds");
    else if (a === "--ui-env") f.uiEnv.push(val());
    else if (a === "--only") f.only = new Set(val().split(","));
    else if (a === "--scale") f.scale = val().split(",").map(Number);
    else if (a === "--out") f.out = val();
    else if (a === "--baseline-cli") f.baselineCli = val();
    else if (a === "-h" || a === "--help") f.help = true;
    else throw new Error(`unknown flag ${a}\n${USAGE}`);
  }
  const unknown = [...(f.only ?? [])].filter((s) => !(SECTIONS as readonly string[]).includes(s));
  if (unknown.length) throw new Error(`--only: unknown section ${unknown.join(", ")}\n${USAGE}`);
  if (f.quick) {
    if (!set.has("runs")) f.runs = 3;
    if (!set.has("samples")) f.samples = 8;
    if (!set.has("uiSeconds")) f.uiSeconds = 30;
    f.stopRuns = 3;
    f.parallelStopRuns = 1;
    f.scaleRounds = 1;
  }
  return f;
}
