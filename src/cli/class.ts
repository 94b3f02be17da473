/**
 * `lvs-lab class …`: classroom workshops. The instructor runs `serve` (foreground),
 * watches with `watch` or the web page, and sends `catch-up` offers and `say` messages;
 * learners `join` once, and their lab commands report progress until they `leave`.
 * The server and the TUI load only when a subcommand needs them.
 */
import { Command } from "commander";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { UserError } from "../errors.js";
import { language, t } from "../i18n/index.js";
import { stateDir } from "../paths.js";
import { provisionCommand } from "./class-provision.js";
import { bold, dim, printJson } from "./output.js";

/** Where `class serve` keeps the class (server.json with the secrets, events.jsonl). */
export function serverDir(): string {
  return join(stateDir(), "class-server");
}
const listeningPath = () => join(serverDir(), "listening.json");

interface InstructorTarget {
  url: string;
  token: string;
}

/** The class server an instructor command talks to: --url/--token, the URL's ?token=, or the one running here. */
async function instructorTarget(opts: { url?: string; token?: string }): Promise<InstructorTarget> {
  let url = opts.url;
  let token = opts.token ?? process.env.LVS_LAB_CLASS_TOKEN;
  if (url) {
    const parsed = new URL(url);
    token ??= parsed.searchParams.get("token") ?? undefined;
    url = parsed.origin;
  }
  if (!url || !token) {
    const local = await readFile(listeningPath(), "utf8").then((t) => JSON.parse(t) as { url: string }, () => undefined);
    const secrets = await readFile(join(serverDir(), "server.json"), "utf8").then((t) => JSON.parse(t) as { instructorToken: string }, () => undefined);
    url ??= local?.url;
    if (!token && secrets && url === local?.url) token = secrets.instructorToken;
  }
  if (!url) throw new UserError(t("classroom.instructor.noServer"), t("classroom.instructor.noServerHint"));
  if (!token) throw new UserError(t("classroom.instructor.noToken", { url }), t("classroom.instructor.noTokenHint"));
  return { url, token };
}

async function instructorRequest(target: InstructorTarget, method: string, path: string, body?: unknown) {
  const { requestJson, errorOf } = await import("../class/learner.js");
  const answer = await requestJson(`${target.url}${path}`, { method, token: target.token, body, timeoutMs: 10_000 }).catch((e: Error) => {
    throw new UserError(t("class.noServer", { url: target.url, error: e.message }));
  });
  if (answer.status !== 200) throw new UserError(t("class.refused", { error: errorOf(answer) }));
  return answer.body;
}

function positive(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UserError(t("classroom.serve.positive", { what }));
  return n;
}

export function classCommand(): Command {
  const cls = new Command("class").description(t("help.class.about"));

  cls
    .command("serve")
    .description(t("help.classServe.about"))
    .option("--port <port>", t("help.classServe.port"), "7700")
    .option("--bind <addr>", t("help.classServe.bind"), "0.0.0.0")
    .option("--title <text>", t("help.classServe.title"))
    .option("--stuck-minutes <n>", t("help.classServe.stuckMinutes"), "5")
    .option("--new", t("help.classServe.new"))
    .option("--json", t("help.classServe.json"))
    .option("--bundle <file>", t("help.classServe.bundle"))
    .option("--lang <lang>", t("help.classServe.lang"))
    .action(async (opts: { port: string; bind: string; title?: string; stuckMinutes: string; new?: boolean; json?: boolean; bundle?: string }) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(t("classroom.serve.badPort"));
      const stuckMinutes = positive(opts.stuckMinutes, "--stuck-minutes");
      const [{ startClassServer }, { labInfos }, { serveBanner }] = await Promise.all([import("../class/server.js"), import("../class/labs.js"), import("../class/banner.js")]);
      if (opts.new) await rename(serverDir(), `${serverDir()}-${new Date().toISOString().replace(/[:.]/g, "-")}`).catch(() => undefined);
      const server = await startClassServer({
        dir: serverDir(),
        labs: await labInfos(language()),
        title: opts.title,
        port,
        bind: opts.bind,
        stuckMinutes,
        ...(opts.bundle ? { bundle: await bundleFile(opts.bundle) } : {}),
        onActivity: opts.json ? undefined : (line) => process.stderr.write(`${dim("·")} ${line}\n`),
      }).catch((e: NodeJS.ErrnoException) => {
        if (e.code === "EADDRINUSE") throw new UserError(t("classroom.serve.portInUse", { port }), t("classroom.serve.portInUseHint"));
        if (e.code === "EADDRNOTAVAIL") throw new UserError(t("classroom.serve.noAddress", { address: opts.bind }));
        throw e;
      });
      await mkdir(serverDir(), { recursive: true });
      await writeFile(listeningPath(), JSON.stringify({ url: server.url, pid: process.pid }));
      if (opts.json) process.stdout.write(JSON.stringify({ url: server.url, joinCode: server.joinCode, instructorToken: server.instructorToken }) + "\n");
      else {
        const banner = serveBanner({ ...server, title: server.ledger.state.title, bundle: Boolean(opts.bundle) });
        for (const line of banner) console.log(line);
      }
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      await server.close();
      await rm(listeningPath(), { force: true });
    });

  cls
    .command("join <url>")
    .description(t("help.classJoin.about"))
    .requiredOption("--code <code>", t("help.classJoin.code"))
    .requiredOption("--as <name>", t("help.classJoin.as"))
    .action(async (url: string, opts: { code: string; as: string }) => {
      const { joinClass } = await import("../class/join.js");
      const m = await joinClass(url, opts.code, opts.as);
      console.log(t("class.joined", { title: bold(m.title), name: bold(m.name) }));
      console.log(dim(t("class.whatIsSent")));
      console.log(dim(t("class.leaveHowTo")));
    });

  cls
    .command("leave")
    .description(t("help.classLeave.about"))
    .action(async () => {
      const { leaveClass } = await import("../class/join.js");
      const left = await leaveClass();
      console.log(left ? t("class.left", { title: left.title }) : t("class.noClass"));
    });

  cls
    .command("status")
    .description(t("help.classStatus.about"))
    .option("--json", t("help.option.json"))
    .action(async (opts: { json?: boolean }) => {
      const { readMembership, queuedCount, rejectedEvents } = await import("../class/learner.js");
      const { classStatusLines } = await import("../class/join.js");
      if (opts.json) {
        const m = await readMembership();
        const queued = await queuedCount();
        const rejected = (await rejectedEvents()).map((r) => ({ id: r.event.id, type: r.event.type, lab: r.event.lab, step: r.event.progress.step, reason: r.reason, at: r.at }));
        return printJson(m ? { joined: true, url: m.url, name: m.name, title: m.title, queued, rejected } : { joined: false, queued, rejected });
      }
      for (const line of await classStatusLines()) console.log(line);
    });

  cls
    .command("watch [url]")
    .description(t("help.classWatch.about"))
    .option("--token <token>", t("help.classWatch.token"))
    .option("--lang <lang>", t("help.option.lang"))
    .action(async (url: string | undefined, opts: { token?: string }) => {
      const target = await instructorTarget({ url, token: opts.token });
      if (!process.stdout.isTTY) throw new UserError(t("classroom.instructor.needsTerminal"));
      const { runWatch } = await import("../class/watch/run.js");
      await runWatch(target.url, target.token);
    });

  cls
    .command("catch-up")
    .description(t("help.classCatchUp.about"))
    .requiredOption("--step <n>", t("help.classCatchUp.step"))
    .option("--learner <name>", t("help.classCatchUp.learner"))
    .option("--lab <lab>", t("help.classCatchUp.lab"))
    .option("--url <url>", t("help.classCatchUp.url"))
    .option("--token <token>", t("help.classCatchUp.token"))
    .option("--lang <lang>", t("help.option.lang"))
    .action(async (opts: { step: string; learner?: string; lab?: string; url?: string; token?: string }) => {
      const step = positive(opts.step, "--step");
      const target = await instructorTarget(opts);
      const r = (await instructorRequest(target, "POST", "/api/catch-up", { step, ...(opts.lab ? { lab: opts.lab } : {}), ...(opts.learner ? { learner: opts.learner } : {}) })) as { reaches: string[] };
      console.log(r.reaches.length ? t("classroom.instructor.offered", { step, names: r.reaches.join(t("classroom.instructor.listSeparator")) }) : t("classroom.instructor.offeredNobody", { step }));
    });

  cls
    .command("say <text>")
    .description(t("help.classSay.about"))
    .option("--learner <name>", t("help.classSay.learner"))
    .option("--url <url>", t("help.classSay.url"))
    .option("--token <token>", t("help.classSay.token"))
    .option("--lang <lang>", t("help.option.lang"))
    .action(async (text: string, opts: { learner?: string; url?: string; token?: string }) => {
      const target = await instructorTarget(opts);
      await instructorRequest(target, "POST", "/api/say", { text, ...(opts.learner ? { learner: opts.learner } : {}) });
      console.log(opts.learner ? t("classroom.instructor.saidTo", { who: opts.learner }) : t("classroom.instructor.saidToClass"));
    });

  cls
    .command("export")
    .description(t("help.classExport.about"))
    .option("--out <file>", t("help.classExport.out"))
    .option("--url <url>", t("help.classExport.url"))
    .option("--token <token>", t("help.classExport.token"))
    .option("--lang <lang>", t("help.option.lang"))
    .action(async (opts: { out?: string; url?: string; token?: string }) => {
      const csv = String(await instructorRequest(await instructorTarget(opts), "GET", "/api/export.csv"));
      if (opts.out) await writeFile(opts.out, csv);
      else process.stdout.write(csv);
    });

  cls.addCommand(provisionCommand());

  return cls;
}

/** The bundle must exist when the class opens, not when the first learner asks for it. */
async function bundleFile(file: string): Promise<string> {
  const path = resolve(file);
  if (!(await stat(path).then((s) => s.isFile(), () => false))) throw new UserError(t("classroom.serve.noBundle", { path }), t("classroom.serve.noBundleHint"));
  return path;
}
