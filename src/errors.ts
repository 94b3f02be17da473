/**
 * The split every command relies on: a UserError is something the learner (or their
 * machine) can fix; it carries one clear sentence and the exit code to end with.
 * Anything else that escapes is a bug in lvs-lab.
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  environment: 2,
  /** Anything that escapes as a plain Error: a bug in lvs-lab (EX_SOFTWARE of sysexits.h). */
  bug: 70,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class UserError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode: ExitCode = ExitCode.environment,
  ) {
    super(message);
    this.name = "UserError";
  }
}

/** A data file (lesson, topology) that cannot be used; the message names file:line. */
export class FileError extends UserError {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly problem: string,
  ) {
    super(`${file}${line ? `:${line}` : ""}: ${problem}`);
    this.name = "FileError";
  }
}

/** Raised when the engine or a container did not answer in time. */
export class TimeoutError extends UserError {
  constructor(what: string, ms: number) {
    super(`Timed out after ${(ms / 1000).toFixed(ms < 10000 ? 1 : 0)} s waiting for ${what}.`);
    this.name = "TimeoutError";
  }
}

/**
 * The work's result, or a TimeoutError after `ms`. The work gets a signal that aborts at the
 * deadline, so that a request given it (an engine call) ends there too instead of running on
 * unwatched.
 */
export async function withTimeout<T>(work: (signal: AbortSignal) => Promise<T>, ms: number, what: string): Promise<T> {
  const deadline = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new TimeoutError(what, ms);
      deadline.abort(error);
      reject(error);
    }, ms);
  });
  try {
    return await Promise.race([work(deadline.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
