/** What one bench run records (bench/results/latest.json), section by section. */
import type { EngineInfo } from "../docker/engine.js";
import type { EngineCall, Stats } from "./common.js";

export const METHODS = {
  cli: { label: "lvs-lab CLI", how: "`node bin/lvs-lab.js start <lab> --name X --no-ui` (process, node start-up included)" },
  baselineCli: { label: "baseline CLI", how: "the same command with the `--baseline-cli` build (before the change)" },
  startLab: { label: "lvs-lab startLab()", how: "in-process `startLab` (src/lab/session.ts): leftovers scan, image and kernel checks, allocation, create, services" },
  library: { label: "lvs-lab library", how: "in-process allocateSubnets+resolveTopology+planInstance → createInstance → discoverInterfaces → prepareServices" },
  script: { label: "(a) shell script", how: "generated `sh` script, docker CLI, networks ∥ then containers ∥" },
  compose: { label: "(b) docker-compose", how: "generated compose file (v2.4), `docker-compose up -d` (v1, Python)" },
} as const;
export type StartMethod = keyof typeof METHODS;

export interface StartStats extends Stats {
  samples: number[];
  returnedMedian?: number;
}

export interface Series extends Stats {
  label: string;
  failed?: number;
  samples?: number[];
}

export interface CheckResults {
  five?: Series;
  openFive?: Series;
  step3?: Series;
  cli?: Series & { checkInsideMedian?: number };
  cliFloor?: Series;
  baselineCli?: Series & { checkInsideMedian?: number };
  baselineCliFloor?: Series;
  nodeFloor?: Series;
  fiveTrace?: { totalMs: number; calls: EngineCall[] };
}

export interface StopResults {
  single: { cli: number[]; inProcess: number[]; baselineCli: number[] };
  parallel: Array<{ totalMs: number; eachMs: number[] }>;
  parallelBaseline: Array<{ totalMs: number; eachMs: number[] }>;
  singleStats?: { cli: Stats; inProcess: Stats; baselineCli: Stats };
  parallelStats?: Stats;
  parallelBaselineStats?: Stats;
  trace?: { totalMs: number; calls: EngineCall[] };
}

export interface ScaleRound {
  round: number;
  instances: number;
  totalMs: number;
  perInstanceMs: number;
  failures: string[];
  eachMs: number[];
}

export interface UiResults {
  available: boolean;
  seconds: number;
  reason?: string;
  screen?: string;
  pid?: number;
  rssMb?: Stats & { last?: number };
  cpuPercent?: number;
  cpuPercentMax1s?: number;
  sampledSeconds?: number;
  samples?: Array<{ t: number; rssKb: number; ticks: number }>;
}

/** The vm section (src/bench/vm.ts): raw samples, in ms and MiB; vm-report.ts derives the rows. */
export interface VmResults {
  /** Why the section did not run (the VM is not running, or its engine does not answer). */
  skipped?: string;
  dockerHost?: string;
  accel?: string;
  /** Guest memory given to QEMU. */
  givenMiB?: number;
  /** Lab instances already in the VM when the section began (other workers': shared VM). */
  otherInstances?: number;
  /** `start dr --no-ui` as a process, until it returned. */
  startMs: number[];
  /** Its phases as it printed them ("containers: ready in 27.6 s"), seconds per run. */
  startPhases?: Record<string, number[]>;
  /** The floor under container creation: `docker run --rm --network none IMAGE true` in the VM (docker CLI). */
  bareContainerMs?: number[];
  /** The VM's phases last measured on this machine (timings.json): build, data disk, cached boot, seconds. */
  vmPhases?: { build: number; disk: number; boot: number };
  /** Seconds: the last resume of the saved VM measured on this machine (timings.json), if any. */
  resumeSeconds?: number;
  /** `stop --name` as a process. */
  stopMs: number[];
  /** The same command on the director: the first Engine.exec (it opens the runner), then interleaved samples. */
  execCommand?: string;
  runnerFirstMs?: number;
  runnerMs: number[];
  dockerExecMs: number[];
  execFailed: { runner: number; dockerExec: number };
  /** `check --name X --step 1 --json` as a process, and its report's own `seconds`. */
  checkMs: number[];
  checkInsideMs: number[];
  /** Checks whose verdict was not a pass (timed all the same). */
  checkFailed: number;
  /** Processes that gave no report (not timed): exit code and first lines. */
  checkErrors: string[];
  /** QEMU's VmRSS every second during the section; its VmHWM (whole life) at the end. */
  qemuRss: Array<{ t: number; mib: number }>;
  qemuLifetimePeakMiB?: number;
  /** bench/results/selftest-vm.json when present. */
  selftest?: SelftestRecord;
}

/** bench/results/selftest-vm.json: one timed selftest of the five LVS labs in the VM. */
export interface SelftestRecord {
  date: string;
  totalSeconds: number;
  /** Seconds per lab (nat, schedulers, dr, tun, failover). */
  labs?: Record<string, number>;
}

export interface Target {
  what: string;
  value: string;
  met: boolean | undefined;
}

export interface BenchResults {
  date: string;
  env: {
    engine: EngineInfo;
    cpus: number;
    memGb: number;
    loadAverage: number[];
    node: string;
    compose: string;
    image: string;
    otherContainers: number;
    flags: string;
  };
  start?: Record<string, Partial<Record<StartMethod, StartStats>>>;
  startTrace?: { totalMs: number; calls: EngineCall[]; byCall: Record<string, unknown> };
  check?: CheckResults;
  stop?: StopResults;
  scale?: ScaleRound[];
  ui?: UiResults;
  uiBaseline?: UiResults;
  vm?: VmResults;
  errors: Record<string, string>;
  targets?: Target[];
  totalSeconds?: number;
}
