/**
 * Ctrl-C and SIGTERM abort the running operation, which then cleans up after itself
 * (a half-built lab is removed). A second Ctrl-C exits at once.
 */
const controller = new AbortController();
let installed = false;

export function interruptSignal(): AbortSignal {
  if (!installed) {
    installed = true;
    const onSignal = (sig: NodeJS.Signals) => {
      if (controller.signal.aborted) process.exit(130);
      process.stderr.write(`\nlvs-lab: ${sig === "SIGINT" ? "interrupted" : "terminated"}, cleaning up…\n`);
      controller.abort();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }
  return controller.signal;
}
