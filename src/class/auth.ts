/**
 * Who may do what on the class server. The instructor holds a long random token; learners
 * hold the short join code, which buys each of them a token of their own (`<id>.<secret>`,
 * only the secret's hash is kept). Secrets are compared with timingSafeEqual on hashes of
 * equal length, so timing tells nothing about how much of a guess was right. Senders are
 * rate-limited with token buckets. The page signs in once with the token and then holds a
 * session of its own (newSession), never the token.
 */
import { createHash, randomBytes, randomInt, timingSafeEqual } from "node:crypto";

const CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

export function newInstructorToken(): string {
  return randomBytes(32).toString("base64url");
}

/** Eight letters without look-alikes (no 0/O, 1/I/L), shown as ABCD-EFGH: about 40 bits. */
export function newJoinCode(): string {
  const letters = Array.from({ length: 8 }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join("");
  return `${letters.slice(0, 4)}-${letters.slice(4)}`;
}

export function newLearnerId(): string {
  return randomBytes(9).toString("base64url");
}

/** A class's own id, for its cookie's name: two classes on one host keep their sign-ins apart. */
export function newClassId(): string {
  return randomBytes(6).toString("hex");
}

export function newSession(): string {
  return randomBytes(32).toString("base64url");
}

export function newSecret(): string {
  return randomBytes(32).toString("base64url");
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** Constant-time equality of two strings of any length (their hashes are compared). */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(sha256(given), sha256(expected));
}

/** Whether a secret matches a stored hex hash, in constant time. */
export function matchesHash(secret: string, storedHash: string): boolean {
  const stored = Buffer.from(storedHash, "hex");
  return stored.length === 32 && timingSafeEqual(sha256(secret), stored);
}

/** Join codes are typed by people: case and dashes do not matter. */
export function normaliseCode(code: string): string {
  return code.toUpperCase().replace(/[^A-Z0-9]/g, "");
}

export function sameCode(given: string, expected: string): boolean {
  return sameSecret(normaliseCode(given), normaliseCode(expected));
}

export function learnerToken(id: string, secret: string): string {
  return `${id}.${secret}`;
}

export function splitLearnerToken(token: string): { id: string; secret: string } | undefined {
  const m = /^([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{20,100})$/.exec(token);
  return m ? { id: m[1]!, secret: m[2]! } : undefined;
}

/** The token of an `Authorization: Bearer …` header. */
export function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return m?.[1];
}

/** A cookie's value from a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export interface Bucket {
  /** How many requests may come at once. */
  burst: number;
  /** Requests per second refilled. */
  perSecond: number;
}

/** Token buckets by key; a key unseen for a while is forgotten. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly rule: Bucket,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes `count` tokens (one by default); false, taking none, when the key has fewer left. */
  take(key: string, count = 1): boolean {
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.rule.burst, at: now };
    b.tokens = Math.min(this.rule.burst, b.tokens + ((now - b.at) / 1000) * this.rule.perSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (this.buckets.size > 10_000) this.forgetFull(now);
    if (b.tokens < count) return false;
    b.tokens -= count;
    return true;
  }

  /** How many whole tokens the key has now. */
  available(key: string): number {
    const b = this.buckets.get(key);
    if (!b) return this.rule.burst;
    return Math.floor(Math.min(this.rule.burst, b.tokens + ((this.now() - b.at) / 1000) * this.rule.perSecond));
  }

  /** Whether the key has a token left, without taking it. */
  allows(key: string): boolean {
    const b = this.buckets.get(key);
    if (!b) return true;
    return b.tokens + ((this.now() - b.at) / 1000) * this.rule.perSecond >= 1;
  }

  private forgetFull(now: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.rule.perSecond >= this.rule.burst) this.buckets.delete(key);
    }
  }
}
