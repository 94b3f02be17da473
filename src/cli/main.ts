/** The lvs-lab command line: the only place that decides exit codes and calls process.exit. */
import { Command, CommanderError } from "commander";
import { enableDebug } from "../debug.js";
import { ExitCode, UserError } from "../errors.js";
import { setLanguage, t } from "../i18n/index.js";
import { pickLanguage } from "../i18n/locale.js";
import { VERSION } from "../version.js";
import { registerBundle } from "./bundle.js";
import { registerCheck } from "./check.js";
import { registerCompletion } from "./completion.js";
import { classCommand } from "./class.js";
import { registerDoctor } from "./doctor.js";
import { localizeHelp } from "./help.js";
import { registerImage } from "./image.js";
import { registerLint } from "./lint.js";
import { registerList } from "./list.js";
import { localizeParseErrors } from "./parse-errors.js";
import { registerPredict } from "./predict.js";
import { registerReset } from "./reset.js";
import { registerSelftest } from "./selftest.js";
import { registerShell } from "./shell.js";
import { registerSolve } from "./solve.js";
import { registerStart } from "./start.js";
import { registerStatus } from "./status.js";
import { registerStop } from "./stop.js";
import { vmCommand } from "./vm.js";

/** The whole command tree, its help in the current language (set it first). */
export function buildProgram(): Command {
  const program = new Command("lvs-lab")
    .description(t("help.program.about"))
    .version(VERSION, "-V, --version", t("help.builtin.version"))
    .option("--debug", t("help.program.debug"))
    .option("--engine <address>", t("help.program.engine"))
    .option("--context <name>", t("help.program.context"))
    .showHelpAfterError(t("help.program.afterError"))
    .exitOverride();
  // Where the engine is: decided once, before any command asks (src/docker/locate.ts).
  program.hook("preAction", async () => {
    const { engine, context } = program.opts<{ engine?: string; context?: string }>();
    if (engine || context) (await import("../docker/locate.js")).chooseEngine({ engine, context });
  });
  for (const register of [registerList, registerStart, registerCheck, registerPredict, registerSolve, registerReset, registerSelftest, registerShell, registerStatus, registerStop, registerDoctor, registerImage, registerBundle, registerLint]) {
    register(program);
  }
  program.addCommand(vmCommand());
  program.addCommand(classCommand());
  registerCompletion(program);
  localizeHelp(program);
  localizeParseErrors(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  setLanguage(pickLanguage(languageOption(argv)));
  const program = buildProgram();
  const debug = argv.includes("--debug");
  if (debug) enableDebug();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    process.exitCode = reportError(e, debug);
  }
  // Open handles (sockets to the engine) must not keep a finished command alive.
  const code = typeof process.exitCode === "number" ? process.exitCode : 0;
  process.exit(code);
}

/** --lang of any command (start, selftest) decides the language of everything the command says. */
function languageOption(argv: string[]): string | undefined {
  const i = argv.findIndex((a) => a === "--lang" || a.startsWith("--lang="));
  if (i < 0) return undefined;
  return argv[i]!.includes("=") ? argv[i]!.slice("--lang=".length) : argv[i + 1];
}

function reportError(e: unknown, debug: boolean): number {
  if (e instanceof CommanderError) {
    // Help and version exit 0; usage mistakes are user errors.
    return e.exitCode === 0 ? ExitCode.ok : ExitCode.environment;
  }
  if (e instanceof UserError) {
    process.stderr.write(`lvs-lab: ${e.message}\n${e.hint ? `  ${e.hint.split("\n").join("\n  ")}\n` : ""}`);
    if (debug) process.stderr.write(`${e.stack}\n`);
    return e.exitCode;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  process.stderr.write(`lvs-lab: ${t("errors.internal", { message: err.message })}\n`);
  process.stderr.write(debug ? `${err.stack}\n` : t("errors.internalHint"));
  return ExitCode.bug;
}
