/**
 * The engine locator (src/docker/locate.ts): the docker CLI's order, each rule named, the
 * context files as the CLI writes them, and the fix doctor gives for each rule.
 */
import { describe, expect, it } from "vitest";
import { contextDigest, engineFix, locateEngine, ruleText, type LocatorInput } from "../src/docker/locate.js";

const HOME = "/home/learner";

/** A machine: environment, options, files (path → text) and the unix sockets that exist. */
function machine(opts: { env?: Record<string, string>; options?: LocatorInput["options"]; files?: Record<string, string>; sockets?: string[]; uid?: number } = {}): LocatorInput {
  const files = opts.files ?? {};
  const sockets = new Set(opts.sockets ?? []);
  return {
    env: opts.env ?? {},
    options: opts.options ?? {},
    home: HOME,
    uid: opts.uid ?? 1000,
    readFile: (path) => files[path],
    isSocket: (path) => sockets.has(path),
    exists: (path) => path in files || sockets.has(path),
  };
}

const meta = (name: string, host: string, skipVerify = false, config = `${HOME}/.docker`) => ({
  [`${config}/contexts/meta/${contextDigest(name)}/meta.json`]: JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: host, SkipTLSVerify: skipVerify } } }),
});

describe("finding the engine as the docker CLI does", () => {
  it("names the context directory by the sha256 of the context's name, as docker 28 does", () => {
    expect(contextDigest("demo")).toMatch(/^2a97516c/);
  });

  it("--engine, then --context, then DOCKER_HOST, then DOCKER_CONTEXT, then config.json's currentContext", () => {
    const files = { ...meta("demo", "unix:///run/demo.sock"), ...meta("other", "tcp://10.0.0.2:2375"), [`${HOME}/.docker/config.json`]: '{"currentContext":"other"}' };
    const all = { env: { DOCKER_HOST: "tcp://10.0.0.1:2375", DOCKER_CONTEXT: "demo" }, files, sockets: ["/var/run/docker.sock"] };
    expect(locateEngine(machine({ ...all, options: { engine: "unix:///run/e.sock" } }))).toEqual({ host: "unix:///run/e.sock", rule: "engine-option" });
    expect(locateEngine(machine({ ...all, options: { context: "other" } }))).toEqual({ host: "tcp://10.0.0.2:2375", rule: "context-option", context: "other" });
    expect(locateEngine(machine(all))).toEqual({ host: "tcp://10.0.0.1:2375", rule: "DOCKER_HOST" });
    expect(locateEngine(machine({ ...all, env: { DOCKER_CONTEXT: "demo" } }))).toEqual({ host: "unix:///run/demo.sock", rule: "DOCKER_CONTEXT", context: "demo" });
    expect(locateEngine(machine({ ...all, env: {} }))).toEqual({ host: "tcp://10.0.0.2:2375", rule: "config-context", context: "other" });
    expect(locateEngine(machine({ files: { [`${HOME}/.docker/config.json`]: '{"currentContext":"default","auths":{}}' }, sockets: ["/var/run/docker.sock"] }))).toEqual({
      host: "unix:///var/run/docker.sock",
      rule: "default-socket",
    });
    expect(() => locateEngine(machine({ options: { engine: "unix:///a", context: "demo" } }))).toThrow("Give either --engine or --context, not both.");
  });

  it("reads contexts under $DOCKER_CONFIG, with their TLS files", () => {
    const config = "/etc/learner-docker";
    const tlsDir = `${config}/contexts/tls/${contextDigest("secure")}/docker`;
    const files = {
      ...meta("secure", "tcp://engine.example:2376", false, config),
      [`${config}/config.json`]: '{"currentContext":"secure"}',
      [`${tlsDir}/ca.pem`]: "",
      [`${tlsDir}/cert.pem`]: "",
      [`${tlsDir}/key.pem`]: "",
    };
    expect(locateEngine(machine({ env: { DOCKER_CONFIG: config }, files }))).toEqual({
      host: "tcp://engine.example:2376",
      rule: "config-context",
      context: "secure",
      tls: { verify: true, ca: `${tlsDir}/ca.pem`, cert: `${tlsDir}/cert.pem`, key: `${tlsDir}/key.pem` },
    });
    const skip = { ...files, ...meta("secure", "tcp://engine.example:2376", true, config) };
    expect(locateEngine(machine({ env: { DOCKER_CONFIG: config }, files: skip })).tls?.verify).toBe(false);
  });

  it("the context named default is DOCKER_HOST or the default socket", () => {
    expect(locateEngine(machine({ env: { DOCKER_CONTEXT: "default" }, sockets: ["/var/run/docker.sock"] }))).toEqual({ host: "unix:///var/run/docker.sock", rule: "DOCKER_CONTEXT", context: "default" });
  });

  it("a context that is not there, or names no engine, is one sentence", () => {
    expect(() => locateEngine(machine({ env: { DOCKER_CONTEXT: "gone" } }))).toThrow(
      `There is no Docker context "gone" (${HOME}/.docker/contexts/meta/${contextDigest("gone")}/meta.json is missing).`,
    );
    const file = `${HOME}/.docker/contexts/meta/${contextDigest("k8s")}/meta.json`;
    expect(() => locateEngine(machine({ env: { DOCKER_CONTEXT: "k8s" }, files: { [file]: '{"Name":"k8s","Endpoints":{}}' } }))).toThrow(
      `Docker context "k8s" names no Docker engine (${file} has no Endpoints.docker.Host).`,
    );
  });

  it("DOCKER_HOST gets TLS from DOCKER_TLS_VERIFY and DOCKER_CERT_PATH (default $DOCKER_CONFIG), as the docker CLI gives it", () => {
    const certs = { "/certs/ca.pem": "", "/certs/cert.pem": "", "/certs/key.pem": "" };
    expect(locateEngine(machine({ env: { DOCKER_HOST: "tcp://127.0.0.1:2376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/certs" }, files: certs }))).toEqual({
      host: "tcp://127.0.0.1:2376",
      rule: "DOCKER_HOST",
      tls: { verify: true, ca: "/certs/ca.pem", cert: "/certs/cert.pem", key: "/certs/key.pem" },
    });
    const home = { [`${HOME}/.docker/ca.pem`]: "", [`${HOME}/.docker/cert.pem`]: "", [`${HOME}/.docker/key.pem`]: "" };
    expect(locateEngine(machine({ env: { DOCKER_HOST: "tcp://h:2376", DOCKER_TLS: "1" }, files: home })).tls).toEqual({
      verify: false,
      ca: `${HOME}/.docker/ca.pem`,
      cert: `${HOME}/.docker/cert.pem`,
      key: `${HOME}/.docker/key.pem`,
    });
    expect(locateEngine(machine({ env: { DOCKER_HOST: "tcp://h:2375" } })).tls).toBeUndefined();
  });

  it("understands unix, tcp, ssh and npipe addresses, and refuses others in one sentence", () => {
    const host = (h: string) => locateEngine(machine({ env: { DOCKER_HOST: h } })).host;
    expect(host("unix:///run/docker.sock")).toBe("unix:///run/docker.sock");
    expect(host("/run/docker.sock")).toBe("unix:///run/docker.sock");
    expect(host("tcp://127.0.0.1:23750")).toBe("tcp://127.0.0.1:23750");
    expect(host("tcp://[::1]:2375/")).toBe("tcp://[::1]:2375");
    expect(host("ssh://learner@lab-server")).toBe("ssh://learner@lab-server");
    expect(host("ssh://lab-server:2222")).toBe("ssh://lab-server:2222");
    expect(host("npipe:////./pipe/docker_engine")).toBe("npipe:////./pipe/docker_engine");
    expect(() => host("ftp://x")).toThrow('The engine address "ftp://x" is not understood.');
    expect(() => host("tcp://a b")).toThrow("is not understood");
  });

  it("without host or context: /var/run/docker.sock, then the well-known sockets that exist, in order", () => {
    const at = (sockets: string[], env: Record<string, string> = { XDG_RUNTIME_DIR: "/run/user/1000" }) => {
      const found = locateEngine(machine({ env, sockets }));
      return `${found.rule} ${found.host}`;
    };
    const desktop = `${HOME}/.docker/run/docker.sock`;
    expect(at(["/var/run/docker.sock", desktop])).toBe("default-socket unix:///var/run/docker.sock");
    expect(at([desktop, "/run/user/1000/docker.sock"])).toBe(`desktop unix://${desktop}`);
    expect(at([`${HOME}/.docker/desktop/docker.sock`])).toBe(`desktop unix://${HOME}/.docker/desktop/docker.sock`);
    expect(at(["/run/user/1000/docker.sock", "/run/podman/podman.sock"])).toBe("rootless unix:///run/user/1000/docker.sock");
    expect(at(["/run/user/1000/docker.sock"], {})).toBe("rootless unix:///run/user/1000/docker.sock");
    expect(at([`${HOME}/.colima/default/docker.sock`])).toBe(`colima unix://${HOME}/.colima/default/docker.sock`);
    expect(at([`${HOME}/.orbstack/run/docker.sock`])).toBe(`orbstack unix://${HOME}/.orbstack/run/docker.sock`);
    expect(at([`${HOME}/.rd/docker.sock`])).toBe(`rancher-desktop unix://${HOME}/.rd/docker.sock`);
    expect(at(["/run/podman/podman.sock", "/run/user/1000/podman/podman.sock"])).toBe("podman unix:///run/podman/podman.sock");
    expect(at(["/run/user/1000/podman/podman.sock"])).toBe("podman-rootless unix:///run/user/1000/podman/podman.sock");
    expect(at([])).toBe("nothing-found unix:///var/run/docker.sock");
  });
});

describe("the fix for an engine that does not answer fits the rule that chose it", () => {
  const fix = (location: Parameters<typeof engineFix>[0], canInstall = true) => engineFix(location, { canInstall });

  it("never offers to install docker.io for an engine that was named or found elsewhere", () => {
    const named = [
      fix({ host: "tcp://10.0.0.1:2375", rule: "DOCKER_HOST" }),
      fix({ host: "unix:///x.sock", rule: "engine-option" }),
      fix({ host: "unix:///run/demo.sock", rule: "DOCKER_CONTEXT", context: "demo" }),
      fix({ host: `unix://${HOME}/.docker/run/docker.sock`, rule: "desktop" }),
      fix({ host: "unix:///run/user/1000/docker.sock", rule: "rootless" }),
      fix({ host: "unix:///run/user/1000/podman/podman.sock", rule: "podman-rootless" }),
      fix({ host: "ssh://learner@lab-server", rule: "DOCKER_HOST" }),
    ];
    for (const f of named) expect(f).not.toMatch(/docker\.io|doctor --fix/);
    expect(named).toEqual([
      "Start the engine at tcp://10.0.0.1:2375, or correct DOCKER_HOST (unset, lvs-lab looks for an engine itself).",
      "Start the engine at unix:///x.sock, or give another --engine (without it lvs-lab looks for one itself).",
      "Start the engine of Docker context demo (unix:///run/demo.sock), or choose another: `docker context use default`, --context or DOCKER_CONTEXT.",
      `Start Docker Desktop (its socket ${HOME}/.docker/run/docker.sock is there, but nothing answers on it).`,
      "Start rootless Docker: `systemctl --user start docker` (or `dockerd-rootless.sh`); its socket is /run/user/1000/docker.sock.",
      "Start your Podman service: `systemctl --user start podman.socket` (or `podman system service --time=0 unix:///run/user/1000/podman/podman.sock &`).",
      "Check that `ssh learner@lab-server docker version` works: lvs-lab logs in as ssh does (the ssh agent, else ~/.ssh/id_ed25519, id_ecdsa or id_rsa) and runs `docker system dial-stdio` there; or correct DOCKER_HOST.",
    ]);
  });

  it("installing docker.io is offered only where nothing was found, as root on Debian", () => {
    expect(fix({ host: "unix:///var/run/docker.sock", rule: "nothing-found" })).toBe(
      "No Docker engine was found: `lvs-lab doctor --fix` installs Debian's docker.io and starts dockerd (or set DOCKER_HOST, --engine or a Docker context).",
    );
    expect(fix({ host: "unix:///var/run/docker.sock", rule: "nothing-found" }, false)).toMatch(/^No Docker engine was found: install Docker and start it/);
    expect(fix({ host: "unix:///var/run/docker.sock", rule: "default-socket" }, false)).toBe("Start it: `sudo systemctl start docker`.");
  });

  it("doctor names each rule", () => {
    expect(ruleText({ host: "unix:///run/demo.sock", rule: "config-context", context: "demo" })).toBe("Docker context demo (currentContext of config.json)");
    expect(ruleText({ host: "unix:///run/user/1000/docker.sock", rule: "rootless" })).toBe("rootless Docker's socket");
  });
});
