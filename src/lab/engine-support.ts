/**
 * Engines the labs cannot work on, refused in one sentence before anything is created
 * (measured in test/engine-podman.docker.test.ts).
 */
import type { EngineClient } from "../docker/engine.js";
import { UserError } from "../errors.js";
import { t } from "../i18n/index.js";

/**
 * Podman (4.3 measured) ignores the Engine API's ReadonlyPaths: /proc/sys stays read-only
 * in the containers, so no step can set ip_forward, arp_ignore or rp_filter there.
 */
export async function refuseUnsupportedEngine(engine: EngineClient): Promise<void> {
  const info = await engine.info();
  if (info.product === "Podman") throw new UserError(t("engine.podmanRefused", { version: info.version }), t("engine.podmanRefusedHint"));
}
