/**
 * The class server's state without the HTTP: the folded class, who holds which token,
 * which event ids were seen. Every change is a log record: a method prepares records,
 * the server writes them to the log, then `commit` folds them in. Replaying a log goes
 * through `commit` too, so a restarted server is the same server.
 */
import { applyRecord, classView, emptyClass, messagesFor, openOffer, offerTargets, type ClassState, type ClassView, type LabInfo } from "./aggregate.js";
import { hashSecret, learnerToken, matchesHash, newLearnerId, newSecret, sameCode, splitLearnerToken } from "./auth.js";
import type { LogRecord } from "./log.js";
import type { Inbox, LearnerEvent } from "./protocol.js";

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

export class ClassLedger {
  state: ClassState;
  private readonly tokenHashes = new Map<string, string>();
  /** `learner:eventId` of every event kept (or being written): a second delivery counts once. */
  private readonly seen = new Set<string>();
  private nextId = 0;

  constructor(
    readonly secrets: Secrets,
    readonly labs: LabInfo[],
    title: string,
  ) {
    this.state = emptyClass(title);
  }

  commit(records: LogRecord[]): void {
    for (const r of records) {
      if (r.r === "join") this.tokenHashes.set(r.learner, r.tokenHash);
      if (r.r === "event") this.seen.add(`${r.learner}:${r.e.id}`);
      if (r.r === "offer" || r.r === "say") this.nextId = Math.max(this.nextId, Number(r.id.replace(/\D/g, "")) || 0);
      this.state = applyRecord(this.state, r);
    }
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

  learnerByName(name: string) {
    const wanted = name.trim().toLowerCase();
    return Object.values(this.state.learners).find((l) => l.name.toLowerCase() === wanted);
  }

  /** A join: a new name gets a new learner; a known name needs that learner's token. */
  prepareJoin(body: { code: string; name: string; token?: string }, now: number): { records: LogRecord[]; learner: string; token: string } {
    if (!sameCode(body.code, this.secrets.joinCode)) throw new HttpError(401, "the join code is not this class's");
    const known = this.learnerByName(body.name);
    if (known) {
      if (!body.token || this.learnerOf(body.token) !== known.id) throw new HttpError(409, `the name "${known.name}" is taken in this class; pick another`);
      return { records: [{ r: "join", t: now, learner: known.id, name: known.name, tokenHash: this.tokenHashes.get(known.id)! }], learner: known.id, token: body.token };
    }
    const id = newLearnerId();
    const secret = newSecret();
    return { records: [{ r: "join", t: now, learner: id, name: body.name, tokenHash: hashSecret(secret) }], learner: id, token: learnerToken(id, secret) };
  }

  /**
   * Events of one learner, their times put on the server's clock (the learner's clock may
   * be off: `now` is what it said when sending). Ids seen before are counted, not kept.
   */
  prepareEvents(learner: string, body: { now: number; events: LearnerEvent[] }, serverNow: number): { records: LogRecord[]; duplicates: number; release: () => void } {
    const skew = serverNow - body.now;
    const records: LogRecord[] = [];
    const reserved: string[] = [];
    let duplicates = 0;
    for (const e of body.events) {
      const key = `${learner}:${e.id}`;
      if (this.seen.has(key)) {
        duplicates++;
        continue;
      }
      const lab = this.labs.find((l) => l.id === e.lab);
      if (!lab) throw new HttpError(422, `lab "${e.lab}" is not one this class server knows`);
      if (!lab.steps.some((s) => s.id === e.progress.step)) throw new HttpError(422, `lab "${e.lab}" has no step "${e.progress.step}"`);
      this.seen.add(key);
      reserved.push(key);
      records.push({ r: "event", t: Math.min(serverNow, Math.max(0, e.at + skew)), learner, e });
    }
    return { records, duplicates, release: () => reserved.forEach((k) => this.seen.delete(k)) };
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
    const l = this.state.learners[learner];
    if (!l) return { messages: [] };
    const offer = openOffer(this.state, l, this.labs);
    return { ...(offer ? { offer } : {}), messages: messagesFor(this.state, l) };
  }

  /** What the instructor's detail view shows of one learner: the latest verdicts of their current step. */
  detail(learner: string, now: number, stuckMinutes: number) {
    const l = this.state.learners[learner];
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
