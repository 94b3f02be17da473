/**
 * What learners and the instructor send to the class server, as zod schemas: one
 * definition for both sides. Strings from a learner's machine end up on someone else's
 * screen, so they are capped and lose control characters (an escape sequence in a
 * verdict must not move the instructor's cursor); names with them are refused outright.
 * Nothing here carries shell contents or commands: progress, verdicts and hops only.
 *
 * The class's code uses zod's v4 API (shipped in the zod 3.25 package this project
 * depends on): a restart validates every event of the log again, up to 180 000 of them,
 * and v4 does that about seven times faster than v3 (measured: 53 µs an event against 350).
 */
import { z } from "zod/v4";

const MiB = 1024 * 1024;

export const LIMITS = {
  /** Request bodies, in bytes. */
  joinBody: 2 * 1024,
  eventsBody: 256 * 1024,
  instructorBody: 8 * 1024,
  signInBody: 1024,
  eventsPerBatch: 100,
  nameLength: 32,
  titleLength: 200,
  /**
   * Bytes of log one learner may fill: a day of workshop is about 0.5 MiB (0.76 kB an event,
   * a check a minute while nothing changes, more while things change), so 2 MiB leaves room
   * for days and stops a flood within seconds.
   */
  learnerBytes: 2 * MiB,
  /**
   * Bytes of learner events the whole class may fill: four days of thirty learners. The
   * bound is the restart: a log this size replays in about 12 s on a busy 2-core host.
   */
  classBytes: 64 * MiB,
  /** Joins, leaves and the instructor's records still fit after the events are refused. */
  reserveBytes: 1 * MiB,
  /** Events a learner may have stored a minute (the lesson screen sends one every few seconds at most)… */
  eventsPerMinute: 120,
  /** …and at once: a backlog from a short outage goes in one send. */
  eventsBurst: 240,
} as const;

/** Bytes as people read them: "4 MiB", "1.5 MiB". */
export function mib(bytes: number): string {
  const n = bytes / MiB;
  return `${Number.isInteger(n) ? n : n.toFixed(1)} MiB`;
}

/** C0/C1 controls (ESC, CR, …) and the bidirectional overrides that reorder what follows. */
const UNSAFE = /[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/**
 * Characters that show nothing (format characters such as U+200B, U+2060, U+00AD, U+FEFF,
 * private use, and the fillers and selectors Unicode lists as default-ignorable) or change
 * the direction of what follows: in a name they make "bob" and "bob\u200b" two learners.
 */
const INVISIBLE = /[\p{Cf}\p{Co}\p{Cs}\p{Zl}\p{Zp}\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0\u{e0100}-\u{e01ef}]/u;

/** Text safe for a terminal or a page: every control character becomes U+FFFD. */
export function cleanText(text: string): string {
  return text.replace(UNSAFE, "\uFFFD");
}

export function hasUnsafeCharacters(text: string): boolean {
  return new RegExp(UNSAFE.source, "u").test(text);
}

/**
 * Latin look-alikes in other scripts (Cyrillic, Greek, a few symbols) and the digits and
 * capitals read as letters, mapped to the Latin letter they imitate. Unicode's full
 * confusables table (UTS #39) would need a dependency this project does not allow; these
 * are the characters a keyboard layout or a copy-paste gives for Latin names. Used only to
 * compare names, never to change what is shown.
 */
const LOOK_ALIKES: Record<string, string> = {
  // Cyrillic (and Armenian ս)
  а: "a", в: "b", ь: "b", с: "c", ԁ: "d", е: "e", ё: "e", г: "r", һ: "h", н: "h", ј: "j", к: "k", м: "m", п: "n", о: "o", р: "p", ԛ: "q", ѕ: "s", т: "t", ս: "u", ѵ: "v", ԝ: "w", х: "x", у: "y",
  // Greek
  α: "a", β: "b", ϲ: "c", ε: "e", η: "n", κ: "k", ν: "v", ο: "o", ρ: "p", τ: "t", υ: "u", χ: "x", γ: "y", ω: "w",
  // One stroke: i, l, capital I, 1, |, dotless ı, Cyrillic і and ӏ, Greek ι all read alike in many fonts
  i: "l", ı: "l", і: "l", ӏ: "l", ι: "l", "1": "l", "|": "l",
  "0": "o",
};

/** What two names are compared by: NFKC, lower case, no accents, look-alikes folded, spaces as one. */
export function foldName(name: string): string {
  const bare = name.normalize("NFKC").trim().toLowerCase().normalize("NFD").replace(/\p{M}/gu, "");
  return [...bare].map((c) => LOOK_ALIKES[c] ?? c).join("").replace(/\s+/g, " ");
}

const text = (max: number) => z.string().max(max * 4).transform((s) => cleanText(s).slice(0, max));

export const LAB_ID = /^[a-z0-9][a-z0-9-]{0,39}$/;
const labId = z.string().regex(LAB_ID);
const stepId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/);
const instance = z.string().regex(/^[a-z0-9][a-z0-9-]{0,23}$/);

/** A learner's name, in NFKC form (fullwidth ｂｏｂ is bob), with nothing invisible in it. */
export const nameSchema = z
  .string()
  .max(LIMITS.nameLength * 4)
  .transform((s) => s.normalize("NFKC").trim())
  .pipe(
    z
      .string()
      .min(1, "a name needs at least one character")
      .max(LIMITS.nameLength, `a name has at most ${LIMITS.nameLength} characters`)
      .refine((s) => !hasUnsafeCharacters(s), "a name cannot hold control characters or escape sequences")
      .refine((s) => !INVISIBLE.test(s), "a name cannot hold invisible or direction-changing characters"),
  );

export const probeVerdictSchema = z.object({
  kind: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/),
  node: text(40).optional(),
  description: text(300).optional(),
  ok: z.boolean(),
  message: text(1000),
  observation: z.boolean().optional(),
  /** A traffic probe's hops: which node did what with the packets. */
  path: z.array(z.object({ node: text(40), what: text(300) })).max(40).optional(),
});
export type ProbeVerdict = z.infer<typeof probeVerdictSchema>;

export const stepVerdictSchema = z.object({
  id: stepId,
  passed: z.boolean(),
  probes: z.array(probeVerdictSchema).max(60),
});
export type StepVerdict = z.infer<typeof stepVerdictSchema>;

/** The learner's progress in one lab as state/progress.ts keeps it, steps by id. */
export const progressSnapshotSchema = z.object({
  /** The current step. */
  step: stepId,
  passed: z.array(stepId).max(100),
  solvedWithHelp: z.array(stepId).max(100),
  hintsShown: z.record(stepId, z.number().int().min(0).max(100)),
  predictions: z.record(stepId, z.number().int().min(1).max(20)),
  /** Seconds on the current step when the event happened. */
  stepSeconds: z.number().int().min(0).max(100_000_000),
});
export type ProgressSnapshot = z.infer<typeof progressSnapshotSchema>;

export const EVENT_TYPES = ["start", "check", "solve", "hint", "predict", "progress", "catch-up"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const learnerEventSchema = z
  .object({
    /** Chosen by the learner's machine: a second delivery of the same id counts once. */
    id: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/),
    /** The learner's clock (ms since epoch); the server corrects it by the body's `now`. */
    at: z.number().int().positive(),
    type: z.enum(EVENT_TYPES),
    lab: labId,
    instance,
    progress: progressSnapshotSchema,
    /** Verdicts of the steps this event checked, in order. */
    checks: z.array(stepVerdictSchema).max(100).optional(),
  })
  .strict();
export type LearnerEvent = z.infer<typeof learnerEventSchema>;
export type LearnerEventInput = z.input<typeof learnerEventSchema>;

export const eventsBodySchema = z
  .object({
    /** The learner's clock when sending: the server's clock minus this is the skew. */
    now: z.number().int().positive(),
    /** Each event is checked on its own: one the server cannot take leaves the others stored. */
    events: z.array(z.unknown()).min(1, "send at least one event").max(LIMITS.eventsPerBatch, `send at most ${LIMITS.eventsPerBatch} events at once`),
  })
  .strict();

export const joinBodySchema = z
  .object({
    code: z.string().max(40),
    name: nameSchema,
    /** A learner joining again under their name proves it is them with the token they got. */
    token: z.string().max(200).optional(),
  })
  .strict();

export const catchUpBodySchema = z
  .object({
    step: z.number().int().min(1).max(100),
    lab: labId.optional(),
    /** A learner's name; without it, every learner of the lab who is behind. */
    learner: z.string().max(LIMITS.nameLength * 4).optional(),
  })
  .strict();

export const sayBodySchema = z
  .object({
    text: text(500).refine((s) => s.trim().length > 0, "say something"),
    learner: z.string().max(LIMITS.nameLength * 4).optional(),
  })
  .strict();

/** An instructor's offer to bring a learner's lab to the start of a step (1-based). */
export interface Offer {
  id: string;
  at: number;
  lab: string;
  step: number;
  /** A learner id; absent: everyone on the lab who is behind. */
  learner?: string;
}

export interface Message {
  id: string;
  at: number;
  text: string;
  learner?: string;
}

/** What the server has for one learner: the open offer for their lab, the latest messages. */
export interface Inbox {
  offer?: Offer;
  messages: Message[];
}

export interface JoinReply {
  learner: string;
  token: string;
  title: string;
  name: string;
}

/**
 * What became of one event of a batch, in the batch's order: stored (in the log now),
 * duplicate (stored before), rejected (never will be: the reason says why) or later (not
 * now: too many at once, or another request is storing it; send it again).
 */
export type EventResult = { id?: string; status: "stored" | "duplicate" } | { id?: string; status: "rejected" | "later"; reason: string };

export interface EventsReply {
  accepted: number;
  duplicates: number;
  results: EventResult[];
  inbox: Inbox;
}

/** The first issue of a failed parse, as one sentence for a 400 answer. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "the body does not match the schema";
  const where = issue.path.length ? `${issue.path.join(".")}: ` : "";
  return `${where}${issue.message}`;
}
