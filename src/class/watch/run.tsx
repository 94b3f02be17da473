/**
 * `lvs-lab class watch` on the real terminal: the stream feeds the reducer, the reducer's
 * effects become requests, and the screen is drawn again from the state. The alternate
 * screen is left however the process ends.
 */
import { render } from "ink";
import { t } from "../../i18n/index.js";
import { errorOf, requestJson } from "../learner.js";
import type { LearnerDetail } from "../ledger.js";
import { initialWatch, reduceWatch, type WatchEffect, type WatchEvent, type WatchState } from "./state.js";
import { openStream } from "./stream.js";
import { KeyReader, WatchScreen } from "./view.js";

const ALT_ON = "\x1b[?1049h\x1b[2J\x1b[H";
const ALT_OFF = "\x1b[?1049l\x1b[?25h";

export async function runWatch(url: string, token: string): Promise<void> {
  let state: WatchState = initialWatch;
  let quit: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (quit = resolve));
  const size = () => ({ width: process.stdout.columns || 80, height: Math.max(5, (process.stdout.rows || 24) - 1) });
  const element = () => (
    <>
      <KeyReader onKey={(input, key) => dispatch({ type: "key", input, key })} />
      <WatchScreen state={state} {...size()} />
    </>
  );
  const leave = () => process.stdout.write(ALT_OFF);
  process.stdout.write(ALT_ON);
  process.on("exit", leave);
  const inst = render(element(), { exitOnCtrlC: false, patchConsole: false, maxFps: 10 });

  function run(effect: WatchEffect): void {
    switch (effect.type) {
      case "quit":
        return quit();
      case "fetchDetail":
        requestJson(`${url}/api/learners/${effect.learner}`, { token, timeoutMs: 5000 }).then(
          (a) => (a.status === 200 ? dispatch({ type: "detail", detail: a.body as LearnerDetail }) : dispatch({ type: "notice", text: t("classroom.watch.details", { error: errorOf(a) }) })),
          (e: Error) => dispatch({ type: "notice", text: t("classroom.watch.details", { error: e.message }) }),
        );
        return;
      case "catchUp": {
        const body = { lab: effect.lab, step: effect.step, ...(effect.learner ? { learner: effect.learner } : {}) };
        requestJson(`${url}/api/catch-up`, { method: "POST", token, body, timeoutMs: 5000 }).then(
          (a) => {
            const reaches = (a.body as { reaches?: string[] }).reaches ?? [];
            const names = reaches.length ? reaches.join(t("classroom.instructor.listSeparator")) : t("classroom.grid.nobodyBehind");
            dispatch({ type: "notice", text: a.status === 200 ? t("classroom.grid.catchUpOffered", { step: effect.step, names }) : t("classroom.grid.catchUpRefused", { error: errorOf(a) }) });
          },
          (e: Error) => dispatch({ type: "notice", text: t("classroom.grid.catchUpFailed", { error: e.message }) }),
        );
        return;
      }
    }
  }
  function dispatch(event: WatchEvent): void {
    const t = reduceWatch(state, event);
    state = t.state;
    inst.rerender(element());
    t.effects.forEach(run);
  }
  const onResize = () => {
    inst.clear();
    inst.rerender(element());
  };
  process.stdout.on("resize", onResize);
  const stream = openStream(url, token, { onView: (view) => dispatch({ type: "view", view }), onProblem: (problem) => dispatch({ type: "disconnected", problem }) });
  try {
    await done;
  } finally {
    stream.close();
    process.stdout.off("resize", onResize);
    inst.unmount();
    leave();
    process.off("exit", leave);
  }
}
