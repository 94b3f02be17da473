/** The engine's failures as sentences a learner can act on (docker/engine-errors.ts). */
import { afterEach, describe, expect, it } from "vitest";
import { translateEngineError } from "../src/docker/engine-errors.js";
import { UserError } from "../src/errors.js";
import { setLanguage } from "../src/i18n/index.js";

/** docker-modem's error for an error status, as dockerode throws it. */
function modemError(statusCode: number, message: string): Error {
  return Object.assign(new Error(`(HTTP code ${statusCode}) server error - ${message}`), { statusCode, json: { message } });
}

const KILL_FAILED = "Could not kill running container 7b87ee, cannot remove - tried to kill container, but did not receive an exit event";

afterEach(() => setLanguage("en"));

describe("an engine's own failure", () => {
  it("is the engine's sentence and a hint, not an internal error of lvs-lab", () => {
    const e = translateEngineError(modemError(500, KILL_FAILED), "tcp://127.0.0.1:23750");
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).message).toBe(`The Docker engine at tcp://127.0.0.1:23750 could not do it: ${KILL_FAILED}`);
    expect((e as UserError).hint).toBe(
      "The engine answered with an error of its own (HTTP 500); under load it may succeed when run again. Its log says more (journalctl -u docker, or the log of the engine you run).",
    );
  });

  it("in Chinese", () => {
    setLanguage("zh-CN");
    const e = translateEngineError(modemError(500, KILL_FAILED), "tcp://127.0.0.1:23750") as UserError;
    expect(e.message).toBe(`tcp://127.0.0.1:23750 上的 Docker 引擎没能完成这个操作：${KILL_FAILED}`);
  });

  it("a 404 stays the caller's to handle (a container already gone)", () => {
    expect(translateEngineError(modemError(404, "No such container: x"), "tcp://127.0.0.1:23750")).not.toBeInstanceOf(UserError);
  });
});
