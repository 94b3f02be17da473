/**
 * What `lvs-lab check --json` prints, for graders: the one definition of its shape. The
 * JSON schema shipped in schema/check-report.schema.json is generated from it
 * (`npm run schema`), and a test keeps the two equal.
 */
import { z } from "zod/v4";

/** Counts of things (requests, packets). */
const count = z.number().int().min(0);
/** Step, hint and choice numbers, which start at 1. */
const ordinal = z.number().int().min(1);

const hop = z
  .object({
    node: z.string().describe("The node the packets reached."),
    what: z.string().describe("One sentence of what that node did with them."),
  })
  .strict();

const spread = z
  .object({
    counts: z.record(z.string(), count).describe("Answered requests per real server."),
    failed: count.describe("Requests that got no answer."),
    total: count.describe("Requests sent."),
    repliesViaDirector: count.optional().describe("Reply packets that left the director towards the client, when measured."),
    clientSeenAs: z.array(z.string()).optional().describe("The source addresses the real servers saw, when measured."),
  })
  .strict();

export const probeReport = z
  .object({
    kind: z.string().describe("The probe kind (sysctl, iptables, ipvs, http, …)."),
    node: z.string().describe("The node it looked at."),
    description: z.string().describe("What it checks, in the learner's language."),
    observe: z.boolean().describe("true: an observation, shown but never counted (its ok is what the learner should see at this stage, not a verdict)."),
    ok: z.boolean().describe("The probe's verdict (for an observation: whether what it looks for is there)."),
    message: z.string().describe("One sentence naming the node and the cause, or what was confirmed."),
    hint: ordinal.optional().describe("The lesson's hint (1-based) for this failure."),
    spread: spread.optional().describe("Traffic probes: where the requests went."),
    path: z.array(hop).optional().describe("Traffic probes: where the packets went, hop by hop."),
  })
  .strict();

const prediction = z
  .object({
    question: z.string(),
    choices: z.array(z.string()),
    answer: ordinal.describe("The right choice (1-based)."),
    yours: ordinal.optional().describe("The learner's choice, when they made one before the step passed."),
    reveal: z.string().optional().describe("The explanation, present once the step has passed."),
  })
  .strict();

export const stepReport = z
  .object({
    number: ordinal,
    id: z.string(),
    title: z.string(),
    passed: z.boolean().describe("Every counted probe of this step passed in this check."),
    probes: z.array(probeReport),
    prediction: prediction.optional(),
  })
  .strict();

export const checkReport = z
  .object({
    instance: z.string().describe("The lab instance checked (its --name)."),
    lab: z.string().describe("The lab's id."),
    step: z
      .object({ number: ordinal, id: z.string(), title: z.string(), of: ordinal.describe("Steps in the lab.") })
      .strict()
      .describe("The step that holds the learner back: the first step checked that did not pass, or the last step checked when all passed."),
    passed: z.boolean().describe("The exit status: the learner's step before this check passed (with --all: every step passed)."),
    probes: z.array(probeReport).describe("The probes of `step`."),
    steps: z.array(stepReport).describe("Every step checked in this call, in order."),
    finished: z.boolean().describe("Every step of the lab has passed."),
    current: ordinal.describe("The learner's current step after this check (1-based)."),
    seconds: z.number().min(0).describe("How long the check took."),
  })
  .strict();

export type ProbeReport = z.infer<typeof probeReport>;
export type StepReport = z.infer<typeof stepReport>;
export type PredictionReport = z.infer<typeof prediction>;
export type CheckReport = z.infer<typeof checkReport>;

/** The step a grader wants: the first that did not pass, else the last one checked. */
export function holdingStep(steps: readonly StepReport[]): StepReport {
  return steps.find((s) => !s.passed) ?? steps[steps.length - 1]!;
}

export function checkReportJsonSchema(): unknown {
  return { ...z.toJSONSchema(checkReport), $id: "https://github.com/lvs-lab/lvs-lab/blob/main/schema/check-report.schema.json", title: "lvs-lab check --json" };
}
