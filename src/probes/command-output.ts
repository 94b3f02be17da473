/**
 * Parsers for the command outputs probes read. Pure functions over text, unit-tested
 * on recorded outputs in test/fixtures.
 */

export interface Route {
  to: string; // "default", "10.0.1.0/24" or a host address
  via?: string;
  dev?: string;
  table?: string;
  /** Absent when ip prints none: the kernel's metric is then 0. */
  metric?: number;
}

/** `ip -4 route show table all` (local/broadcast entries dropped). */
export function parseRoutes(output: string): Route[] {
  const routes: Route[] = [];
  for (const raw of output.split("\n")) {
    const line = raw.trim();
    if (!line || /^(local|broadcast|unreachable|prohibit|blackhole|multicast)\s/.test(line)) continue;
    const words = line.split(/\s+/);
    const route: Route = { to: words[0]! };
    for (let i = 1; i < words.length - 1; i++) {
      if (words[i] === "via") route.via = words[i + 1];
      if (words[i] === "dev") route.dev = words[i + 1];
      if (words[i] === "table") route.table = words[i + 1];
      if (words[i] === "metric") route.metric = Number(words[i + 1]);
    }
    routes.push(route);
  }
  return routes;
}

export interface RouteChoice {
  destination: string;
  via?: string;
  dev?: string;
}

/** `ip -4 route get ADDR`: the path the kernel picks ("198.51.100.100 via 10.0.1.1 dev eth0 src … uid 0"). */
export function parseRouteGet(output: string): RouteChoice | undefined {
  const words = output.trim().split("\n")[0]!.trim().split(/\s+/);
  if (/^(local|broadcast|multicast|unicast)$/.test(words[0] ?? "")) words.shift();
  if (!/^[\d.]+$/.test(words[0] ?? "")) return undefined;
  const choice: RouteChoice = { destination: words[0]! };
  for (let i = 1; i < words.length - 1; i++) {
    if (words[i] === "via") choice.via = words[i + 1];
    if (words[i] === "dev") choice.dev = words[i + 1];
  }
  return choice;
}

export interface InterfaceAddress {
  iface: string;
  address: string;
  prefix: number;
  label?: string;
}

/** `ip -o -4 addr show`: "2: eth0    inet 10.0.1.50/24 brd … scope global eth0\ …" */
export function parseAddresses(output: string): InterfaceAddress[] {
  const out: InterfaceAddress[] = [];
  for (const line of output.split("\n")) {
    const m = /^\d+:\s+(\S+?)(?:@\S+)?\s+inet\s+([\d.]+)\/(\d+)(.*)$/.exec(line.trim());
    if (!m) continue;
    const label = /\s([^\s\\]+:[^\s\\]+)/.exec(m[4]! + " ")?.[1];
    out.push({ iface: m[1]!, address: m[2]!, prefix: Number(m[3]), ...(label ? { label } : {}) });
  }
  return out;
}

export type ForwardMethod = "masq" | "route" | "tunnel";
const METHOD_FLAGS: Record<string, ForwardMethod> = { "-m": "masq", "-g": "route", "-i": "tunnel" };
export const METHOD_FLAG: Record<ForwardMethod, string> = { masq: "-m", route: "-g", tunnel: "-i" };

export interface IpvsRealServer {
  address: string; // ip:port
  method: ForwardMethod;
  weight: number;
}

export interface IpvsService {
  protocol: "tcp" | "udp" | "fwmark";
  address: string; // ip:port
  scheduler: string;
  persistent?: number;
  realServers: IpvsRealServer[];
}

/** `ipvsadm -Sn`: "-A -t 10.0.0.1:80 -s rr" then "-a -t 10.0.0.1:80 -r 10.0.1.210:8000 -m -w 1". */
export function parseIpvsSave(output: string): IpvsService[] {
  const services = new Map<string, IpvsService>();
  for (const raw of output.split("\n")) {
    const words = raw.trim().split(/\s+/);
    const op = words[0];
    if (op !== "-A" && op !== "-a") continue;
    const protoFlag = words[1];
    const protocol = protoFlag === "-t" ? "tcp" : protoFlag === "-u" ? "udp" : "fwmark";
    const address = words[2]!;
    const key = `${protocol} ${address}`;
    const opt = (flag: string) => {
      const i = words.indexOf(flag);
      return i >= 0 ? words[i + 1] : undefined;
    };
    if (op === "-A") {
      const persistent = opt("-p");
      services.set(key, {
        protocol,
        address,
        scheduler: opt("-s") ?? "wlc",
        ...(persistent ? { persistent: Number(persistent) } : {}),
        realServers: [],
      });
    } else {
      const method = words.map((w) => METHOD_FLAGS[w]).find(Boolean) ?? "route";
      services.get(key)?.realServers.push({ address: opt("-r")!, method, weight: Number(opt("-w") ?? 1) });
    }
  }
  return [...services.values()];
}

export interface IpvsConnection {
  protocol: string;
  /** As ipvsadm prints it, "04:52". */
  expires: string;
  /** TCP states; a persistence template reads NONE, then ASSURED once a connection under it was established. */
  state: string;
  source: string; // ip:port; port 0 in a persistence template
  virtual: string;
  destination: string;
}

/** `ipvsadm -Lnc`: "TCP 04:52  ASSURED     198.51.100.100:0   198.51.100.50:80   10.0.1.212:8000". */
export function parseIpvsConnections(output: string): IpvsConnection[] {
  const out: IpvsConnection[] = [];
  for (const line of output.split("\n")) {
    const m = /^(TCP|UDP|SCTP)\s+(\d+:\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$/.exec(line.trim());
    if (m) out.push({ protocol: m[1]!, expires: m[2]!, state: m[3]!, source: m[4]!, virtual: m[5]!, destination: m[6]! });
  }
  return out;
}

/** `ip neigh show`: address → MAC (only entries that have one). */
export function parseNeighbours(output: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of output.split("\n")) {
    const m = /^([\d.]+)\s.*\blladdr\s+([0-9a-f:]{17})/i.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.toLowerCase();
  }
  return out;
}

/** `ip -o link show`: interface → MAC. */
export function parseLinks(output: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of output.split("\n")) {
    const m = /^\d+:\s+([^:@\s]+)(?:@\S+)?:.*\blink\/ether\s+([0-9a-f:]{17})/i.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.toLowerCase();
  }
  return out;
}

export interface HttpSample {
  ok: boolean;
  server?: string;
  clientSeen?: string;
  error?: string;
}

/**
 * Output of the client's request loop: one line per request, either
 * "ok <body>" where body is "rs1 saw 198.51.100.100:40000", or "fail <curl exit code>".
 */
export function parseHttpSamples(output: string): HttpSample[] {
  const samples: HttpSample[] = [];
  for (const line of output.split("\n")) {
    const ok = /^ok (\S+) saw ([\d.]+):\d+/.exec(line.trim());
    if (ok) samples.push({ ok: true, server: ok[1], clientSeen: ok[2] });
    else if (line.startsWith("ok ")) samples.push({ ok: true, error: `unexpected answer: ${line.slice(3, 80)}` });
    const fail = /^fail (\d+)/.exec(line.trim());
    if (fail) samples.push({ ok: false, error: CURL_ERRORS[fail[1]!] ?? `curl exit code ${fail[1]}` });
  }
  return samples;
}

const CURL_ERRORS: Record<string, string> = {
  "7": "connection refused",
  "28": "timed out",
  "52": "empty reply",
  "56": "connection reset",
};
