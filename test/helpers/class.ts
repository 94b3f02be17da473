/** Building blocks for the class tests: a small lab, events as a learner's machine sends them. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, expect } from "vitest";
import type { LabInfo } from "../../src/class/aggregate.js";
import { startClassServer, type ClassServer, type ClassServerOptions } from "../../src/class/server.js";
import { post } from "./http.js";
import type { LearnerEvent, ProbeVerdict } from "../../src/class/protocol.js";

export const DNAT: LabInfo = {
  id: "dnat",
  title: "Port forwarding with iptables DNAT",
  steps: [
    { id: "forward", title: "Let the director forward packets" },
    { id: "dnat-rule", title: "Rewrite the destination with DNAT" },
    { id: "gateway", title: "Send rs1's replies back through the director" },
  ],
};

export const NAT: LabInfo = { id: "nat", title: "LVS-NAT", steps: [{ id: "ipvs", title: "An IPVS service" }, { id: "rr", title: "Round robin" }] };

export const failingRoute: ProbeVerdict = {
  kind: "route",
  node: "rs1",
  description: "rs1: default route via 10.0.1.50 (director)",
  ok: false,
  message: "rs1's default route is via 10.0.1.1 (Docker's gateway on int), not via 10.0.1.50 (director).",
};

export const failingHttp: ProbeVerdict = {
  kind: "http",
  node: "client",
  description: "4 requests from client to 198.51.100.50:8001 get answers",
  ok: false,
  message: "Only 0 of 4 requests were answered; the rest: timed out.",
  path: [
    { node: "client", what: "sent the SYN to 198.51.100.50:8001" },
    { node: "rs1", what: "answered to 198.51.100.100 via 10.0.1.1, not the director" },
  ],
};

let seq = 0;

/** A learner event; `step` is the current step's id, `checks` the verdicts it carries. */
export function event(over: Partial<LearnerEvent> & { step?: string; passed?: string[]; helped?: string[]; stepSeconds?: number; hints?: Record<string, number> } = {}): LearnerEvent {
  const { step = "forward", passed = [], helped = [], stepSeconds = 0, hints = {}, ...rest } = over;
  return {
    id: `event-${String(++seq).padStart(6, "0")}`,
    at: 1_000_000,
    type: "check",
    lab: "dnat",
    instance: "dnat",
    progress: { step, passed, solvedWithHelp: helped, hintsShown: hints, predictions: {}, stepSeconds },
    ...rest,
  };
}

export function passing(id: string): { id: string; passed: true; probes: ProbeVerdict[] } {
  return { id, passed: true, probes: [{ kind: "sysctl", node: "director", description: `${id} ok`, ok: true, message: "fine" }] };
}

export function failing(id: string, ...probes: ProbeVerdict[]): { id: string; passed: false; probes: ProbeVerdict[] } {
  return { id, passed: false, probes: probes.length ? probes : [failingRoute] };
}

/**
 * A class server on 127.0.0.1 for each test, in a temporary state directory of its own
 * (`prefix` names it), closed after the test; `start` makes another (the test assigns it
 * to `server` so that it is closed too).
 */
export function classServerFixture(prefix: string) {
  const dirs: string[] = [];
  const fx = {
    server: undefined as unknown as ClassServer,
    dir: "",
    start: (opts: Partial<ClassServerOptions> = {}) => startClassServer({ dir: fx.dir, labs: [DNAT, NAT], title: "Workshop", port: 0, bind: "127.0.0.1", broadcastMs: 20, ...opts }),
    api: (path: string) => `${fx.server.url}${path}`,
    async joinAs(name: string, code = fx.server.joinCode): Promise<string> {
      const r = await post(fx.api("/api/join"), { code, name });
      expect(r.status, r.text).toBe(200);
      return r.json.token as string;
    },
  };
  beforeEach(async () => {
    fx.dir = await mkdtemp(join(tmpdir(), prefix));
    dirs.push(fx.dir);
    fx.server = await fx.start();
  });
  afterEach(async () => {
    await fx.server.close();
  });
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });
  return fx;
}
