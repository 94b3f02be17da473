/**
 * Extra real engines for the engine tests (test/engine-*.docker.test.ts), each started by
 * the test and stopped again, always: a second dockerd with its own --data-root,
 * --exec-root and --pidfile (in its own network namespace where it makes networks, so its
 * bridges and iptables rules never meet the host engine's), TLS certificates made with
 * openssl, a loopback sshd, rootless Docker and Podman services run by a non-root user.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN } from "./cli.js";

export const sh = (cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) =>
  execFileSync(cmd, args, { encoding: "utf8", stdio: ["pipe", "pipe", "pipe"], ...opts });

/** A scratch directory with a short path (unix socket paths are limited to 107 bytes). */
export function scratch(name: string): string {
  return mkdtempSync(join(tmpdir(), `lvs20-${name}-`));
}

/** GET /_ping on a unix socket until the engine answers; rejects after `ms`. */
export async function waitForEngine(socketPath: string, ms: number, log?: string): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = request({ socketPath, path: "/_ping", timeout: 2000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on("error", () => resolve(false));
      req.on("timeout", () => req.destroy());
      req.end();
    });
    if (ok) return warmUp(socketPath);
    if (Date.now() > end) throw new Error(`no engine answered on ${socketPath} within ${ms / 1000} s${log && existsSync(log) ? `:\n${readFileSync(log, "utf8").slice(-3000)}` : ""}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/**
 * One GET /info, as doctor's first call: a cold Podman answers it in tens of seconds under
 * load (its storage set up), which doctor's 8 s patience would take for an engine down.
 */
function warmUp(socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: "/info", timeout: 120_000 }, (res) => {
      res.resume();
      res.on("end", () => resolve());
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error(`no answer to /info on ${socketPath} within 120 s`)));
    req.end();
  });
}

/** Sends TERM to a process group, KILL after `ms`; resolves when it has ended. */
async function stopGroup(child: ChildProcess, ms = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const ended = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, s);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  const timer = setTimeout(() => signal("SIGKILL"), ms);
  await ended;
  clearTimeout(timer);
}

export interface TlsFiles {
  dir: string;
  /** The client's directory, as DOCKER_CERT_PATH wants it: ca.pem, cert.pem, key.pem. */
  clientDir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
}

/** A CA, a server certificate for `ips` and a client certificate, made with openssl. */
export function makeTlsCerts(dir: string, ips: string[]): TlsFiles {
  const clientDir = join(dir, "client");
  mkdirSync(clientDir, { recursive: true });
  const f = (name: string) => join(dir, name);
  sh("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=lvs-lab test CA", "-keyout", f("ca-key.pem"), "-out", f("ca.pem")]);
  const sign = (name: string, subject: string, ext: string) => {
    sh("openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", f(`${name}-key.pem`), "-out", f(`${name}.csr`)]);
    writeFileSync(f(`${name}.ext`), ext);
    sh("openssl", ["x509", "-req", "-in", f(`${name}.csr`), "-CA", f("ca.pem"), "-CAkey", f("ca-key.pem"), "-CAcreateserial", "-days", "2", "-extfile", f(`${name}.ext`), "-out", f(`${name}.pem`)]);
  };
  sign("server", "/CN=engine", `subjectAltName=${ips.map((ip) => `IP:${ip}`).join(",")}\nextendedKeyUsage=serverAuth\n`);
  sign("client", "/CN=learner", "extendedKeyUsage=clientAuth\n");
  writeFileSync(join(clientDir, "ca.pem"), readFileSync(f("ca.pem")));
  writeFileSync(join(clientDir, "cert.pem"), readFileSync(f("client.pem")));
  writeFileSync(join(clientDir, "key.pem"), readFileSync(f("client-key.pem")));
  return { dir, clientDir, ca: f("ca.pem"), serverCert: f("server.pem"), serverKey: f("server-key.pem") };
}

export interface Dockerd {
  dir: string;
  /** Its first unix socket. */
  socket: string;
  log: string;
  stop(): Promise<void>;
}

/**
 * A second dockerd. `netns` runs it in a network namespace of its own (made here, with a
 * veth pair: the host side HOST_IP, the namespace side NS_IP), where it may make bridges and
 * iptables rules; without one it makes neither (doctor needs none).
 */
export async function startDockerd(opts: { name: string; unixSockets: string[]; tcp?: string; tls?: TlsFiles; netns?: { name: string; hostIp: string; nsIp: string } }): Promise<Dockerd> {
  const dir = scratch(opts.name);
  const log = join(dir, "dockerd.log");
  writeFileSync(join(dir, "daemon.json"), "{}\n");
  const args = ["--config-file", join(dir, "daemon.json"), "--data-root", join(dir, "data"), "--exec-root", join(dir, "x"), "--pidfile", join(dir, "dockerd.pid"), "--log-level", "warn"];
  for (const s of opts.unixSockets) {
    mkdirSync(join(s, ".."), { recursive: true });
    args.push("-H", `unix://${s}`);
  }
  if (opts.tcp) args.push("-H", opts.tcp);
  if (opts.tls) args.push("--tlsverify", "--tlscacert", opts.tls.ca, "--tlscert", opts.tls.serverCert, "--tlskey", opts.tls.serverKey);
  if (!opts.netns) args.push("--bridge", "none", "--iptables=false", "--ip-masq=false", "--ip-forward=false");
  const ns = opts.netns;
  if (ns) {
    sh("ip", ["netns", "add", ns.name]);
    sh("ip", ["link", "add", `${ns.name}-h`, "type", "veth", "peer", "name", `${ns.name}-n`]);
    sh("ip", ["link", "set", `${ns.name}-n`, "netns", ns.name]);
    sh("ip", ["addr", "add", `${ns.hostIp}/30`, "dev", `${ns.name}-h`]);
    sh("ip", ["link", "set", `${ns.name}-h`, "up"]);
    sh("ip", ["netns", "exec", ns.name, "ip", "addr", "add", `${ns.nsIp}/30`, "dev", `${ns.name}-n`]);
    sh("ip", ["netns", "exec", ns.name, "ip", "link", "set", `${ns.name}-n`, "up"]);
    sh("ip", ["netns", "exec", ns.name, "ip", "link", "set", "lo", "up"]);
  }
  const out = openSync(log, "a");
  // nsenter, not `ip netns exec`: that one mounts a fresh /sys, without the cgroup mounts dockerd needs.
  const child = ns
    ? spawn("nsenter", [`--net=/run/netns/${ns.name}`, "dockerd", ...args], { detached: true, stdio: ["ignore", out, out] })
    : spawn("dockerd", args, { detached: true, stdio: ["ignore", out, out] });
  const stop = async () => {
    await stopGroup(child);
    if (ns) {
      for (const cmd of [["link", "del", `${ns.name}-h`], ["netns", "del", ns.name]]) {
        try {
          sh("ip", cmd);
        } catch {
          // already gone
        }
      }
    }
    removeTree(dir);
  };
  try {
    await waitForEngine(opts.unixSockets[0]!, 60_000, log);
  } catch (e) {
    await stop();
    throw e;
  }
  return { dir, socket: opts.unixSockets[0]!, log, stop };
}

/** rm -rf that first unmounts what a daemon left mounted under the tree. */
export function removeTree(dir: string): void {
  try {
    const mounts = readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .map((l) => l.split(" ")[1] ?? "")
      .filter((m) => m.startsWith(dir))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) sh("umount", ["-l", m]);
  } catch {
    // nothing mounted
  }
  rmSync(dir, { recursive: true, force: true });
}

/** A non-root user for rootless engines (scripts/setup.sh makes it with subuid/subgid ranges). */
export const ROOTLESS_USER = "lvs-lab-rootless";

export function userIds(user: string): { uid: number; gid: number; home: string } {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`there is no user ${user} (scripts/setup.sh makes it)`);
  const [, , uid, gid, , home] = line.split(":");
  return { uid: Number(uid), gid: Number(gid), home: home! };
}

/** A runtime directory of the user's own, as XDG_RUNTIME_DIR wants it (mode 700). */
export function runtimeDir(user: string, name: string): string {
  const { uid, gid } = userIds(user);
  const dir = scratch(name);
  chmodSync(dir, 0o700);
  chownSync(dir, uid, gid);
  return dir;
}

/** A command run as `user` in its own process group, with a minimal environment of its own. */
export function spawnAsUser(user: string, env: Record<string, string>, cmd: string[], log: string): ChildProcess {
  const { home, uid } = userIds(user);
  const out = openSync(log, "a");
  chownSync(log, uid, userIds(user).gid);
  const base = { HOME: home, USER: user, LOGNAME: user, PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };
  const vars = Object.entries({ ...base, ...env }).map(([k, v]) => `${k}=${v}`);
  return spawn("setpriv", ["--reuid", user, "--regid", user, "--init-groups", "--reset-env", "env", ...vars, ...cmd], { detached: true, stdio: ["ignore", out, out], cwd: home });
}

/** A user's engine service (rootless dockerd, podman system service) on `socket`; stop() ends it. */
export async function startUserEngine(user: string, env: Record<string, string>, cmd: string[], socket: string, log: string, ms = 90_000): Promise<{ stop(): Promise<void> }> {
  const child = spawnAsUser(user, env, cmd, log);
  const stop = () => stopGroup(child, 30_000);
  try {
    await waitForEngine(socket, ms, log);
  } catch (e) {
    await stop();
    throw e;
  }
  return { stop };
}

/** The lab image saved once per test file (lvs-lab image save), to load into another engine. */
export function savedLabImage(dir: string): string {
  const file = join(dir, "lab-image.tar");
  if (!existsSync(file)) sh("node", [BIN, "image", "save", file], { env: { ...process.env, DOCKER_HOST: "unix:///var/run/docker.sock" } });
  return file;
}
