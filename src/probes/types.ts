import type { z } from "zod";
import type { InterfaceMap, ResolvedTopology } from "../topology/resolve.js";

/** Everything a probe may know about the instance it checks. */
export interface ProbeContext {
  topology: ResolvedTopology;
  ifaces: InterfaceMap;
  vars: Record<string, string>;
  /**
   * Capture on every node so that a failed request is traced hop by hop and its verdict names
   * the cause (default). Off, traffic probes capture only where their verdict needs it (the
   * director for the reply path, every node for `through`): selftest's checks that must pass
   * need no cause, and each capture costs two execs per node on an emulated CPU.
   */
  trace?: boolean;
}

/**
 * Commands run in three rounds: 0 reads state (and starts measurements), 1 makes
 * traffic, 2 reads what the traffic did. Within a round, commands for one node are
 * batched into a single exec and nodes run in parallel. A check that restarts nodes
 * (ProbeKind.restarts) reads their state first, in round -1, and restarts them before round 0.
 */
export type Round = -1 | 0 | 1 | 2;

export interface Collect {
  round: Round;
  node: string;
  script: string;
}

export interface CommandOutput {
  exitCode: number;
  output: string;
}

/** Per-server counts of a traffic probe, for the UI's bars. */
export interface Spread {
  counts: Record<string, number>;
  failed: number;
  total: number;
  /** Reply packets that left the director towards the client, when measured. */
  repliesViaDirector?: number;
  clientSeenAs?: string[];
}

export interface Verdict {
  ok: boolean;
  /** One sentence naming the node and the cause (or what was confirmed). */
  message: string;
  spread?: Spread;
  /** Traffic probes: where the packets went, hop by hop (see trace.ts). */
  path?: Hop[];
}

/** One hop of a traced request: the node and one sentence of what it did with the packets. */
export interface Hop {
  node: string;
  what: string;
}

export interface ProbeKind<P extends { kind: string }> {
  kind: P["kind"];
  schema: z.ZodType<P, z.ZodTypeDef, unknown>;
  /** Short description for lists: "ip_forward on director is 1". */
  describe(p: P, ctx: ProbeContext): string;
  collect(p: P, ctx: ProbeContext): Collect[];
  /** The nodes whose containers the check restarts between round -1 and round 0. */
  restarts?(p: P): string[];
  /** Pure: gets the outputs in the order collect() returned the commands. */
  judge(p: P, outputs: CommandOutput[], ctx: ProbeContext): Verdict;
}
