/**
 * Ctrl-C and SIGTERM abort the running operation, which then cleans up after itself
 * (a half-built lab is removed) and ends with exit code 130 through cli/main.ts.
 * A second Ctrl-C ends the process at once: the handler steps aside and the signal's
 * default action ends it (the shell sees 128 + the signal's number).
 */
const controller = new AbortController();
let installed = false;

export function interruptSignal(): AbortSignal {
  if (!installed) {
    installed = true;
    const onSignal = (sig: NodeJS.Signals) => {
      if (controller.signal.aborted) {
        process.removeListener("SIGINT", onSignal);
        process.removeListener("SIGTERM", onSignal);
        process.kill(process.pid, sig);
        return;
      }
      process.stderr.write(`\nlvs-lab: ${sig === "SIGINT" ? "interrupted" : "terminated"}, cleaning up…\n`);
      controller.abort();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }
  return controller.signal;
}
