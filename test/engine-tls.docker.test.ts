/**
 * tcp+TLS: a second dockerd started by the test with --tlsverify and certificates made here
 * with openssl, in a network namespace of its own (its bridges and iptables rules stay
 * there), reached at tcp://NS_IP:2376. doctor names it by DOCKER_HOST with
 * DOCKER_TLS_VERIFY/DOCKER_CERT_PATH and by a Docker context that holds the TLS files; an
 * engine that speaks TLS to a client without it gets one sentence; `selftest dnat` passes on
 * it (the lab image loaded with `lvs-lab image load`).
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "./helpers/cli.js";
import { makeTlsCerts, removeTree, savedLabImage, scratch, sh, startDockerd, type Dockerd, type TlsFiles } from "./helpers/engines.js";

const dir = scratch("tls");
const NS = { name: "lvs20tls", hostIp: "172.30.231.1", nsIp: "172.30.231.2" };
const HOST = `tcp://${NS.nsIp}:2376`;
let certs: TlsFiles;
let engine: Dockerd;
const state = { XDG_STATE_HOME: join(dir, "state"), XDG_CACHE_HOME: join(dir, "cache"), HOME: join(dir, "home"), LVS_LAB_LANG: "en" };
const tlsEnv = () => ({ ...state, DOCKER_HOST: HOST, DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: certs.clientDir });

interface Doctor {
  checks: Array<{ name: string; state: string; message: string; fix?: string; engine?: { host: string; rule: string; context?: string; tls?: boolean } }>;
}

async function engineCheck(env: Record<string, string>) {
  const r = await cli(["doctor", "--json"], env, 120_000);
  return (JSON.parse(r.stdout) as Doctor).checks.find((c) => c.name === "engine")!;
}

describe("an engine over tcp with TLS", () => {
  beforeAll(async () => {
    certs = makeTlsCerts(join(dir, "certs"), [NS.nsIp]);
    engine = await startDockerd({ name: "tlsd", unixSockets: [join(dir, "engine.sock")], tcp: `tcp://${NS.nsIp}:2376`, tls: certs, netns: NS });
    const load = await cli(["image", "load", savedLabImage(dir)], tlsEnv(), 600_000);
    expect(load.code, load.stderr).toBe(0);
  }, 900_000);

  afterAll(async () => {
    await engine?.stop();
    removeTree(dir);
  }, 120_000);

  it("doctor: DOCKER_HOST with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH", async () => {
    const check = await engineCheck(tlsEnv());
    expect(check, JSON.stringify(check)).toMatchObject({ state: "ok", engine: { host: HOST, rule: "DOCKER_HOST", tls: true } });
    expect(check.message).toMatch(new RegExp(`^Docker \\S+ \\(API [\\d.]+\\) at tcp://${NS.nsIp.replace(/\./g, "\\.")}:2376 \\(TLS\\), found by DOCKER_HOST; kernel `));
  }, 120_000);

  it("doctor: a Docker context that holds the TLS files", async () => {
    const config = join(dir, "home/.docker");
    sh("docker", ["--config", config, "context", "create", "lab-tls", "--docker", `host=${HOST},ca=${certs.clientDir}/ca.pem,cert=${certs.clientDir}/cert.pem,key=${certs.clientDir}/key.pem`]);
    const check = await engineCheck({ ...state, DOCKER_CONTEXT: "lab-tls" });
    expect(check, JSON.stringify(check)).toMatchObject({ state: "ok", engine: { host: HOST, rule: "DOCKER_CONTEXT", context: "lab-tls", tls: true } });
  }, 120_000);

  it("without TLS, or with another CA: one sentence and the fix", async () => {
    const plain = await engineCheck({ ...state, DOCKER_HOST: HOST });
    expect(plain).toMatchObject({
      state: "fail",
      message: `found by DOCKER_HOST: The Docker engine at ${HOST} speaks TLS, and lvs-lab was given no TLS.`,
      fix: "Set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the directory with ca.pem, cert.pem and key.pem (or use a Docker context with them).",
    });
    const other = makeTlsCerts(join(dir, "other-certs"), [NS.nsIp]);
    const untrusted = await engineCheck({ ...tlsEnv(), DOCKER_CERT_PATH: other.clientDir });
    expect(untrusted.state).toBe("fail");
    expect(untrusted.message).toMatch(new RegExp(`^found by DOCKER_HOST: The Docker engine at ${HOST.replace(/\./g, "\\.")} is not reachable \\((self[- ]signed certificate|unable to verify|certificate)`));
    expect(untrusted.fix).toBe(`Check the TLS files (${other.clientDir}/ca.pem, ${other.clientDir}/cert.pem, ${other.clientDir}/key.pem): the engine's certificate must be signed by ca.pem, and cert.pem/key.pem must be a client certificate it trusts.`);
  }, 120_000);

  it("selftest dnat passes on it", async () => {
    const r = await cli(["selftest", "dnat", "--json"], tlsEnv(), 1_200_000);
    const report = JSON.parse(r.stdout) as { ok: boolean; engines: string[] };
    expect(report, r.stderr).toMatchObject({ ok: true, engines: [HOST] });
    expect(r.code).toBe(0);
  }, 1_300_000);
});
