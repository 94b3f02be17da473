/**
 * What `lvs-lab class serve` prints when the class opens: where learners join, the
 * instructor's page, the event log. Labels are padded in terminal columns, so the
 * commands line up in any language.
 */
import { bold, dim } from "../cli/output.js";
import { t } from "../i18n/index.js";
import { displayWidth, padToWidth } from "../text/width.js";

export interface BannerFacts {
  title: string;
  url: string;
  joinCode: string;
  instructorToken: string;
  bundle: boolean;
  logPath: string;
  replayed: { records: number; skipped: number };
}

export function serveBanner(f: BannerFacts): string[] {
  const labels = { join: t("classroom.serve.label.join"), page: t("classroom.serve.label.page"), token: t("classroom.serve.label.token"), terminal: t("classroom.serve.label.terminal"), bundle: t("classroom.serve.label.bundle") };
  const width = Math.max(...Object.values(labels).map(displayWidth)) + 2;
  const row = (label: string, value: string) => `  ${padToWidth(label, width)}${value}`;
  const skipped = f.replayed.skipped ? t("classroom.serve.skipped", { count: f.replayed.skipped }) : "";
  return [
    t("classroom.serve.open", { title: bold(t("classroom.serve.classTitle", { title: f.title })), url: f.url }),
    `\n${row(labels.join, bold(`lvs-lab class join ${f.url} --code ${f.joinCode} --as NAME`))}`,
    // The token is pasted into the page's form, never put in its address: browsers keep addresses.
    row(labels.page, t("classroom.serve.pageSignIn", { url: `${f.url}/` })),
    row(labels.token, f.instructorToken),
    row(labels.terminal, "lvs-lab class watch"),
    ...(f.bundle ? [row(labels.bundle, `curl -fo lvs-lab-offline.tar '${f.url}/api/bundle?code=${f.joinCode}'`)] : []),
    dim(`\n${t("classroom.serve.eventLog", { path: f.logPath, count: f.replayed.records, skipped })}`),
    dim(t("classroom.serve.stopHowTo")),
  ];
}
