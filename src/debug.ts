/**
 * `--debug` lines on stderr: what lvs-lab skipped or decided on the way, for whoever
 * reports a problem. Silent unless cli/main.ts turned it on.
 */
let enabled = false;

export function enableDebug(): void {
  enabled = true;
}

/** One line, prefixed with its scope (`lvs-lab:subnets …`). */
export function debugLog(scope: string, message: string): void {
  if (enabled) process.stderr.write(`lvs-lab:${scope} ${message}\n`);
}
