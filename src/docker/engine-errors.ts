/**
 * The engine's failures as sentences: what Node, dockerode or the engine said, turned into
 * one sentence a learner can act on (engine.ts translates every call's failure here).
 */
import { existsSync } from "node:fs";
import { UserError } from "../errors.js";
import { t } from "../i18n/index.js";
import { EngineApiError, engineApiError } from "./api.js";
import { engineFix, locationOf, type EngineLocation } from "./locate.js";

function statusCode(e: unknown): number | undefined {
  return typeof e === "object" && e !== null && "statusCode" in e ? (e as { statusCode: number }).statusCode : undefined;
}

export function isNotFound(e: unknown): boolean {
  return statusCode(e) === 404;
}

export function isAlreadyBeingRemoved(e: unknown): boolean {
  return statusCode(e) === 409 && /already in progress/.test(String((e as Error).message));
}

const UNREACHABLE = ["ENOENT", "ECONNREFUSED", "EACCES", "ENOTFOUND", "EHOSTUNREACH", "ECONNRESET", "EAI_AGAIN", "ETIMEDOUT", "EPIPE"];

/** Why a TLS handshake failed, from Node's error code; undefined for other failures. */
function tlsProblem(code: string, message: string): string | undefined {
  if (/CERT|SELF_SIGNED|ERR_SSL|ERR_TLS|EPROTO/.test(code) || /certificate|ssl|tls/i.test(message)) return message.split("\n")[0];
  return undefined;
}

/**
 * Turns the engine's low-level failures into one sentence a learner can act on, with the
 * fix that fits the rule that chose the engine (src/docker/locate.ts).
 */
export function translateEngineError(e: unknown, where: string | EngineLocation): unknown {
  if (e instanceof UserError) return e;
  const location = typeof where === "string" ? locationOf(where) : where;
  const host = location.host;
  const fix = () => engineFix(location, { canInstall: canInstallEngine() });
  const error = engineApiError(e);
  const code = typeof error === "object" && error !== null && "code" in error ? String((error as { code: unknown }).code) : "";
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof EngineApiError && /HTTP request to an HTTPS server/i.test(message)) {
    return new UserError(t("engine.speaksTls", { host }), t("engine.speaksTlsHint"));
  }
  const level = typeof error === "object" && error !== null && "level" in error ? String((error as { level: unknown }).level) : "";
  if (level === "client-authentication") return new UserError(t("engine.unreachable", { host, why: t("engine.why.sshLogin") }), fix());
  const tls = location.tls || host.startsWith("tcp://") ? tlsProblem(code, message) : undefined;
  if (tls) return new UserError(t("engine.unreachable", { host, why: tls }), t("engine.tlsFix", { files: tlsFileList(location) }));
  if (UNREACHABLE.includes(code) || /socket hang up/.test(message)) {
    const why = code === "EACCES" ? t("engine.why.denied") : code === "ENOENT" ? t("engine.why.noSocket") : code ? code.toLowerCase() : t("engine.why.hangUp");
    return new UserError(t("engine.unreachable", { host, why }), code === "EACCES" ? t("engine.fix.denied", { path: host.replace(/^unix:\/\//, "") }) : fix());
  }
  // The engine's own failure (a container that would not die under load): its words, not a bug of ours.
  const status = statusCode(error);
  if (status !== undefined && status >= 500) {
    return new UserError(t("engine.failed", { host, message: message.replace(/\s*\(HTTP \d+\)$/, "") }), t("engine.failedHint", { status }));
  }
  return error;
}

function tlsFileList(location: EngineLocation): string {
  const files = [location.tls?.ca, location.tls?.cert, location.tls?.key].filter(Boolean);
  return files.length ? files.join(", ") : t("engine.noTlsFiles");
}

/** Root on Debian/Ubuntu: `lvs-lab doctor --fix` can install and start docker.io. */
export function canInstallEngine(): boolean {
  return process.getuid?.() === 0 && existsSync("/etc/debian_version");
}
