/**
 * The class server's state without the HTTP: the folded class, who holds which token,
 * which event ids were seen. Every change is a log record: a method prepares records,
 * the server writes them to the log, then `commit` folds them in. Replaying a log goes
 * through `commit` too, so a restarted server is the same server.
 */
import { applyRecord, classView, emptyClass, messagesFor, openOffer, offerTargets, type ClassState, type ClassView, type LabInfo, type Learner } from "./aggregate.js";
import { hashSecret, learnerToken, matchesHash, newLearnerId, newSecret, sameCode, splitLearnerToken } from "./auth.js";
import { recordBytes, type LogRecord } from "./log.js";
import { describeIssue, foldName, learnerEventSchema, LIMITS, mib, type EventResult, type Inbox } from "./protocol.js";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Secrets {
  joinCode: string;
  instructorToken: string;
}

/** The byte caps a ledger keeps its learners to. */
export interface ByteLimits {
  learnerBytes: number;
  classBytes: number;
}

/** Why an event was not stored, as the learner's `class status` shows it. */
export const REASONS = {
  learnerFull: (limit: number) => `this learner's events reached ${mib(limit)}, the most one learner may store in this class`,
  classFull: (limit: number) => `the class's event log reached its cap of ${mib(limit)}: the instructor can start another class with \`lvs-lab class serve --new\``,
  tooFast: (perMinute: number) => `more than ${perMinute} events a minute; sent again later`,
  inFlight: "being stored by another request; sent again later",
  unknownLab: (lab: string) => `lab "${lab}" is not one this class server knows`,
  unknownStep: (lab: string, step: string) => `lab "${lab}" has no step "${step}"`,
};

export interface PreparedEvents {
  records: LogRecord[];
  results: EventResult[];
  duplicates: number;
  /** An event did not fit in what the class may still store. */
  classFull: boolean;
  /** Gives back the ids reserved for this write (it failed). */
  release: () => void;
}

export class ClassLedger {
  state: ClassState;
  private readonly tokenHashes = new Map<string, string>();
  /** `learner:eventId` of every event in the log: a second delivery counts once. */
  private readonly seen = new Set<string>();
  /** `learner:eventId` of events being written right now. */
  private readonly pending = new Set<string>();
  /** Learner ids by folded name (foldName): look-alikes are the same name. */
  private readonly names = new Map<string, string>();
  /** Bytes of log each learner's events take. */
  readonly bytesOf = new Map<string, number>();
  /** Bytes of log all learners' events take. */
  eventBytes = 0;
  /** Whether the log has a title record. */
  titled = false;
  private nextId = 0;

  constructor(
    readonly secrets: Secrets,
    readonly labs: LabInfo[],
    title: string,
    readonly limits: ByteLimits = { learnerBytes: LIMITS.learnerBytes, classBytes: LIMITS.classBytes },
  ) {
    this.state = emptyClass(title);
  }

  /** Folds records just written to the log. */
  commit(records: LogRecord[]): void {
    for (const r of records) this.replay(r, recordBytes(r));
  }

  /** Folds one record read back from the log, which took `bytes` there. */
  replay(r: LogRecord, bytes: number): void {
    if (r.r === "class") this.titled = true;
    if (r.r === "join") {
      this.tokenHashes.set(r.learner, r.tokenHash);
      const folded = foldName(r.name);
      if (!this.names.has(folded)) this.names.set(folded, r.learner);
    }
    if (r.r === "event") {
      const key = `${r.learner}:${r.e.id}`;
      this.seen.add(key);
      this.pending.delete(key);
      this.bytesOf.set(r.learner, (this.bytesOf.get(r.learner) ?? 0) + bytes);
      this.eventBytes += bytes;
    }
    if (r.r === "offer" || r.r === "say") this.nextId = Math.max(this.nextId, Number(r.id.replace(/\D/g, "")) || 0);
    this.state = applyRecord(this.state, r);
  }

  view(now: number, stuckMinutes: number): ClassView {
    return classView(this.state, this.labs, { now, stuckMinutes });
  }

  /** The learner a token belongs to, or undefined. */
  learnerOf(token: string | undefined): string | undefined {
    const parts = token ? splitLearnerToken(token) : undefined;
    const hash = parts ? this.tokenHashes.get(parts.id) : undefined;
    return parts && hash && matchesHash(parts.secret, hash) ? parts.id : undefined;
  }

  /** The learner of this name, or of a name that looks the same (foldName). */
  learnerByName(name: string): Learner | undefined {
    const id = this.names.get(foldName(name));
    return id === undefined ? undefined : this.state.learners.get(id);
  }

  /** A join: a new name gets a new learner; a known name needs that learner's token. */
  prepareJoin(body: { code: string; name: string; token?: string }, now: number): { records: LogRecord[]; learner: string; token: string; isNew: boolean } {
    if (!sameCode(body.code, this.secrets.joinCode)) throw new HttpError(401, "the join code is not this class's");
    const known = this.learnerByName(body.name);
    if (known) {
      if (!body.token || this.learnerOf(body.token) !== known.id) throw new HttpError(409, `the name "${known.name}" is taken in this class; pick another`);
      return { records: [{ r: "join", t: now, learner: known.id, name: known.name, tokenHash: this.tokenHashes.get(known.id)! }], learner: known.id, token: body.token, isNew: false };
    }
    const id = newLearnerId();
    const secret = newSecret();
    return { records: [{ r: "join", t: now, learner: id, name: body.name, tokenHash: hashSecret(secret) }], learner: id, token: learnerToken(id, secret), isNew: true };
  }

  /**
   * Events of one learner, each judged on its own (EventResult), their times put on the
   * server's clock (the learner's clock may be off: `now` is what it said when sending).
   * At most `allowed` are stored (the learner's events-a-minute budget); an event over the
   * learner's bytes is refused for good, one over the class's is left for later. Ids are
   * marked seen only when their records are committed.
   */
  prepareEvents(learner: string, body: { now: number; events: unknown[] }, serverNow: number, allowed = Infinity, perMinute: number = LIMITS.eventsPerMinute): PreparedEvents {
    const skew = serverNow - body.now;
    const records: LogRecord[] = [];
    const results: EventResult[] = [];
    const reserved: string[] = [];
    let duplicates = 0;
    let classFull = false;
    let learnerBytes = this.bytesOf.get(learner) ?? 0;
    let classBytes = this.eventBytes;
    for (const raw of body.events) {
      const parsed = learnerEventSchema.safeParse(raw);
      const rawId = (raw as { id?: unknown } | null)?.id;
      const named = typeof rawId === "string" && /^[A-Za-z0-9_-]{8,64}$/.test(rawId) ? { id: rawId } : {};
      if (!parsed.success) {
        results.push({ ...named, status: "rejected", reason: describeIssue(parsed.error) });
        continue;
      }
      const e = parsed.data;
      const key = `${learner}:${e.id}`;
      if (this.seen.has(key) || reserved.includes(key)) {
        duplicates++;
        results.push({ id: e.id, status: "duplicate" });
        continue;
      }
      if (this.pending.has(key)) {
        results.push({ id: e.id, status: "later", reason: REASONS.inFlight });
        continue;
      }
      const lab = this.labs.find((l) => l.id === e.lab);
      if (!lab) {
        results.push({ id: e.id, status: "rejected", reason: REASONS.unknownLab(e.lab) });
        continue;
      }
      if (!lab.steps.some((s) => s.id === e.progress.step)) {
        results.push({ id: e.id, status: "rejected", reason: REASONS.unknownStep(e.lab, e.progress.step) });
        continue;
      }
      if (records.length >= allowed) {
        results.push({ id: e.id, status: "later", reason: REASONS.tooFast(perMinute) });
        continue;
      }
      const record: LogRecord = { r: "event", t: Math.min(serverNow, Math.max(0, e.at + skew)), learner, e };
      const bytes = recordBytes(record);
      if (learnerBytes + bytes > this.limits.learnerBytes) {
        results.push({ id: e.id, status: "rejected", reason: REASONS.learnerFull(this.limits.learnerBytes) });
        continue;
      }
      if (classBytes + bytes > this.limits.classBytes) {
        classFull = true;
        results.push({ id: e.id, status: "later", reason: REASONS.classFull(this.limits.classBytes) });
        continue;
      }
      learnerBytes += bytes;
      classBytes += bytes;
      this.pending.add(key);
      reserved.push(key);
      records.push(record);
      results.push({ id: e.id, status: "stored" });
    }
    return { records, results, duplicates, classFull, release: () => reserved.forEach((k) => this.pending.delete(k)) };
  }

  prepareLeave(learner: string, now: number): LogRecord[] {
    return [{ r: "leave", t: now, learner }];
  }

  /** A catch-up offer; the lab defaults to the one most learners are on. */
  prepareOffer(body: { step: number; lab?: string; learner?: string }, now: number, stuckMinutes: number): { records: LogRecord[]; reaches: string[] } {
    const view = this.view(now, stuckMinutes);
    const lab = body.lab ?? [...view.labs].sort((a, b) => b.rows.length - a.rows.length)[0]?.id;
    if (!lab) throw new HttpError(409, "no learner has started a lab yet");
    const info = this.labs.find((l) => l.id === lab);
    if (!info) throw new HttpError(404, `lab "${lab}" is not one this class server knows`);
    if (body.step > info.steps.length) throw new HttpError(400, `lab ${lab} has steps 1 to ${info.steps.length}`);
    const target = body.learner !== undefined ? this.learnerByName(body.learner) : undefined;
    if (body.learner !== undefined && !target) throw new HttpError(404, `no learner is called "${body.learner}"`);
    const reaches = offerTargets(view, lab, body.step, target?.id).map((r) => r.name);
    const id = `o${++this.nextId}`;
    return { records: [{ r: "offer", t: now, id, lab, step: body.step, ...(target ? { learner: target.id } : {}) }], reaches };
  }

  prepareSay(body: { text: string; learner?: string }, now: number): LogRecord[] {
    const target = body.learner !== undefined ? this.learnerByName(body.learner) : undefined;
    if (body.learner !== undefined && !target) throw new HttpError(404, `no learner is called "${body.learner}"`);
    return [{ r: "say", t: now, id: `m${++this.nextId}`, text: body.text, ...(target ? { learner: target.id } : {}) }];
  }

  inbox(learner: string): Inbox {
    const l = this.state.learners.get(learner);
    if (!l) return { messages: [] };
    const offer = openOffer(this.state, l, this.labs);
    return { ...(offer ? { offer } : {}), messages: messagesFor(this.state, l) };
  }

  /** What the instructor's detail view shows of one learner: the latest verdicts of their current step. */
  detail(learner: string, now: number, stuckMinutes: number) {
    const l = this.state.learners.get(learner);
    if (!l) throw new HttpError(404, "no such learner");
    const lab = this.labs.find((x) => x.id === l.lab);
    const record = l.lab ? l.labs[l.lab] : undefined;
    const row = this.view(now, stuckMinutes).labs.find((g) => g.id === l.lab)?.rows.find((r) => r.learner === learner);
    const verdict = record ? record.verdicts[record.current] : undefined;
    return {
      learner: l.id,
      name: l.name,
      lab: lab ? { id: lab.id, title: lab.title, steps: lab.steps.length } : undefined,
      row,
      step: lab && record ? { number: lab.steps.findIndex((s) => s.id === record.current) + 1, id: record.current, title: lab.steps.find((s) => s.id === record.current)?.title ?? record.current } : undefined,
      checkedAt: verdict?.at,
      probes: verdict?.probes ?? [],
    };
  }
}

export type LearnerDetail = ReturnType<ClassLedger["detail"]>;
