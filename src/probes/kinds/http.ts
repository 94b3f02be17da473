import { z } from "zod";
import { captureFilter, captureId, parseCapture, startCaptureScript, stopCaptureScript, type NodeCapture } from "../capture.js";
import { parseHttpSamples, type HttpSample } from "../command-output.js";
import { t } from "../../i18n/index.js";
import { traceRequest, type RequestTrace } from "../trace.js";
import type { Collect, ProbeContext, ProbeKind, Spread, Verdict } from "../types.js";
import { endpoint, probeBase, splitEndpoint, addressWithOwner, withExplain } from "./common.js";

const schema = z
  .object({
    kind: z.literal("http"),
    ...probeBase,
    /** The node that sends the requests (usually the client). */
    node: z.string().default("client"),
    to: endpoint,
    path: z.string().default("/"),
    count: z.number().int().min(1).max(200).default(6),
    /** Seconds each request may take. */
    timeout: z.number().min(0.2).max(30).default(2),
    /** Requests sent at once (long-lived connections use /hold/SECONDS paths). */
    parallel: z.number().int().min(1).max(50).default(1),
    /** Seconds between starting the requests of one parallel batch, so each connection is
     * established before the scheduler picks a server for the next. */
    stagger: z.number().min(0).max(5).default(0),
    expect: z
      .object({
        /** "all" (default), "none" (every request must fail) or a minimum number. */
        answers: z.union([z.literal("all"), z.literal("none"), z.number().int().min(0)]).default("all"),
        /** Each of these nodes must answer at least once. */
        servers: z.array(z.string()).optional(),
        /** Expected share per server, e.g. {rs1: 3, rs2: 1}; compared within `tolerance`. */
        spread: z.record(z.number().min(0)).optional(),
        tolerance: z.number().min(0).max(1).default(0.2),
        /** The address the real servers must have seen as the client's. */
        clientAddress: z.string().optional(),
        /** Measured on the director: do reply packets pass through it? */
        replies: z.enum(["direct", "via-director"]).optional(),
        /** Every request must reach this node and go on from it (IPVS there scheduled it), whoever answers. */
        through: z.string().optional(),
      })
      .strict()
      .default({}),
    /** The node whose outgoing packets show where replies went. */
    director: z.string().default("director"),
  })
  .strict();
export type HttpProbe = z.infer<typeof schema>;

function requestLoop(p: HttpProbe): string {
  const url = `http://${p.to}${p.path}`;
  const one = `out=$(curl -s -m ${p.timeout} ${url}); rc=$?; if [ $rc -eq 0 ]; then echo "ok $out"; else echo "fail $rc"; fi`;
  if (p.parallel === 1) return `for i in $(seq ${p.count}); do ${one}; done`;
  // Batches of `parallel` concurrent requests; each prints its own line.
  const batches = Math.ceil(p.count / p.parallel);
  const pause = p.stagger ? ` sleep ${p.stagger};` : "";
  return `for b in $(seq ${batches}); do for i in $(seq ${p.parallel}); do ( ${one} ) &${pause} done; wait; done`;
}

function clientAddressOf(p: HttpProbe, ctx: ProbeContext): string | undefined {
  const node = ctx.topology.nodes[p.node];
  const target = splitEndpoint(p.to).host;
  // The sender's address on the network of the target; else its first address.
  const vip = Object.values(ctx.topology.vips).find((v) => v.address === target);
  const net = vip?.network ?? Object.values(ctx.topology.nodes).flatMap((n) => Object.entries(n.addresses)).find(([, a]) => a === target)?.[0];
  return (net && node?.addresses[net]) || Object.values(node?.addresses ?? {})[0];
}

export const httpProbe: ProbeKind<HttpProbe> = {
  kind: "http",
  schema,
  describe: (p) => {
    if (p.title) return p.title;
    const replies = p.expect.replies ? t(`probe.http.describeReplies.${p.expect.replies}`) : "";
    return t(p.expect.answers === "none" ? "probe.http.describeNone" : "probe.http.describe", { count: p.count, node: p.node, to: p.to, replies });
  },
  /** Requests on the sending node; a capture on every node around them (see capture.ts). */
  collect(p, ctx) {
    const id = captureId(p);
    const ports = [splitEndpoint(p.to).port, ...Object.values(ctx.topology.nodes).flatMap((n) => n.serve)];
    const filter = captureFilter(ports);
    const steps: Collect[] = [{ round: 1, node: p.node, script: requestLoop(p) }];
    for (const node of captureNodes(p, ctx)) {
      steps.push({ round: 0, node, script: startCaptureScript(id, filter, captureLimit(p)) }, { round: 2, node, script: stopCaptureScript(id) });
    }
    return steps;
  },
  judge(p, outputs, ctx) {
    const samples = parseHttpSamples(outputs[0]!.output);
    const captures = captureNodes(p, ctx).map((node, i) => parseCapture(node, outputs[1 + 2 * i]?.output ?? "", outputs[2 + 2 * i]?.output ?? ""));
    const { host, port } = splitEndpoint(p.to);
    const trace = samples.length && tracesRequests(p, ctx) ? traceRequest(captures, { from: p.node, host, port, director: p.director, ...(p.expect.through ? { through: p.expect.through } : {}) }, ctx) : undefined;
    const verdict = judgeRequests(p, samples, captures, outputs[0]!.output, ctx, trace);
    // Where the packets stopped matters when something failed, or when the lesson shows a failure on purpose.
    if ((verdict.ok && !p.observe) || !trace) return verdict;
    return { ...verdict, path: trace.hops };
  },
};

/**
 * Every node: a failed request's verdict says where its packets went (trace.ts). Without
 * tracing, only what the verdict itself reads: every node for `through`, the director for replies.
 */
function captureNodes(p: HttpProbe, ctx: ProbeContext): string[] {
  if (tracesRequests(p, ctx)) return Object.keys(ctx.topology.nodes);
  return p.expect.replies ? [p.director] : [];
}

/** `through` is judged from the trace itself; otherwise the context says (ProbeContext.trace). */
function tracesRequests(p: HttpProbe, ctx: ProbeContext): boolean {
  return ctx.trace !== false || p.expect.through !== undefined;
}

/** How long a capture may run at most: all the requests, and the rounds around them on a slow (emulated) engine. */
function captureLimit(p: HttpProbe): number {
  const batches = Math.ceil(p.count / p.parallel);
  return Math.ceil(batches * (p.timeout + p.stagger * p.parallel)) + 600;
}

/** Reply packets that left the director for the client (not wrapped in a tunnel). */
function repliesLeaving(director: NodeCapture, p: HttpProbe, ctx: ProbeContext): number {
  const { host, port } = splitEndpoint(p.to);
  const client = clientAddressOf(p, ctx);
  return director.packets.filter((k) => k.direction === "Out" && k.protocol === "tcp" && !k.outer && k.src === host && k.sport === port && k.dst === client).length;
}

/** curl's failures as the parser names them, in the learner's language. */
const CURL_ERROR_KEYS = {
  "connection refused": "probe.http.curl.refused",
  "timed out": "probe.http.curl.timeout",
  "empty reply": "probe.http.curl.empty",
  "connection reset": "probe.http.curl.reset",
} as const;
const curlError = (error: string | undefined) => (error && error in CURL_ERROR_KEYS ? t(CURL_ERROR_KEYS[error as keyof typeof CURL_ERROR_KEYS]) : (error ?? ""));

function judgeRequests(p: HttpProbe, samples: HttpSample[], captures: NodeCapture[], requestOutput: string, ctx: ProbeContext, trace: RequestTrace | undefined): Verdict {
  const answered = samples.filter((s) => s.ok);
  const counts: Record<string, number> = {};
  for (const s of answered) if (s.server) counts[s.server] = (counts[s.server] ?? 0) + 1;
  const spread: Spread = {
    counts,
    failed: samples.length - answered.length,
    total: samples.length,
    clientSeenAs: [...new Set(answered.map((s) => s.clientSeen).filter((a): a is string => Boolean(a)))],
  };
  let viaDirector: number | undefined;
  if (p.expect.replies) {
    const director = captures.find((c) => c.node === p.director);
    if (director?.state !== "complete") {
      const why = t(director?.state === "ended early" ? "probe.http.captureEndedEarly" : "probe.http.captureNotStarted");
      return { ok: false, spread, message: t("probe.http.cannotMeasure", { director: p.director, why }) };
    }
    viaDirector = repliesLeaving(director, p, ctx);
    spread.repliesViaDirector = viaDirector;
  }
  const summary = Object.entries(counts).map(([s, n]) => `${s} ${n}`).join(", ");
  const errors = [...new Set(samples.filter((s) => !s.ok).map((s) => curlError(s.error)))].join(t("probe.http.join"));
  // The cause the packets show comes first: the counts say what failed, the cause why.
  const fail = (m: string) => ({ ok: false, spread, message: withExplain(trace?.cause ? t("probe.http.because", { cause: trace.cause, message: m }) : m, p) });

  const said = { node: p.node, to: p.to, answered: answered.length, total: samples.length, summary, errors };
  if (samples.length === 0) return fail(t("probe.http.cannotSend", { ...said, output: requestOutput.trim().slice(0, 120) }));
  if (p.expect.answers === "none") {
    if (answered.length === 0) return { ok: true, spread, message: t("probe.http.noAnswer", said) };
    return fail(t("probe.http.answeredTooSoon", said));
  }
  const needed = p.expect.answers === "all" ? samples.length : p.expect.answers;
  if (answered.length < needed) {
    return fail(t("probe.http.onlySome", { ...said, summary: summary ? t("probe.http.summary", { summary }) : "" }));
  }
  for (const server of p.expect.servers ?? []) {
    if (!counts[server]) return fail(t("probe.http.serverNone", { ...said, server }));
  }
  if (p.expect.spread) {
    const totalShare = Object.values(p.expect.spread).reduce((a, b) => a + b, 0);
    for (const [server, share] of Object.entries(p.expect.spread)) {
      const expected = share / totalShare;
      const actual = (counts[server] ?? 0) / Math.max(answered.length, 1);
      if (Math.abs(actual - expected) > p.expect.tolerance) {
        return fail(t("probe.http.spread", { ...said, server, got: counts[server] ?? 0, actual: Math.round(actual * 100), expected: Math.round(expected * 100) }));
      }
    }
  }
  if (p.expect.through && trace?.passedThrough !== true) {
    const client = captures.find((c) => c.node === p.node);
    if (trace?.passedThrough === undefined) {
      const why = t(client?.state === "ended early" ? "probe.http.captureEndedEarly" : "probe.http.captureNotStarted");
      return { ok: false, spread, message: t("probe.http.cannotFollow", { node: p.node, why }) };
    }
    return fail(t("probe.http.notThrough", { ...said, through: p.expect.through }));
  }
  if (p.expect.clientAddress) {
    const wrong = spread.clientSeenAs!.filter((a) => a !== p.expect.clientAddress);
    if (wrong.length) {
      return fail(t("probe.http.clientRewritten", { seen: wrong.map((a) => addressWithOwner(ctx, a)).join(", "), client: addressWithOwner(ctx, p.expect.clientAddress) }));
    }
  }
  if (p.expect.replies === "direct" && viaDirector! > 0) {
    return fail(t("probe.http.repliesViaDirector", { count: viaDirector, director: p.director }));
  }
  if (p.expect.replies === "via-director" && viaDirector === 0) {
    return fail(t("probe.http.repliesBypass", { director: p.director }));
  }
  const path = viaDirector === undefined ? "" : viaDirector > 0 ? t("probe.http.okViaDirector", { count: viaDirector, director: p.director }) : t("probe.http.okDirect", { director: p.director });
  const seen = spread.clientSeenAs!.length ? t("probe.http.okSeen", { seen: spread.clientSeenAs!.join(", ") }) : "";
  return { ok: true, spread, message: t("probe.http.ok", { ...said, seen, path }) };
}
