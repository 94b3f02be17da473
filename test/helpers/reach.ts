/**
 * What a lab container can reach: TCP connects (in parallel, 2 s each) from inside it,
 * each answered "open", "timeout" (dropped on the way) or the error (e.g. "Connection
 * refused", which means the packet got there). Targets are "host:port"; an IPv6
 * link-local host carries its scope ("fe80::1%eth0").
 */
import type { EngineClient } from "../../src/docker/engine.js";

const CONNECT = `
import socket, sys, threading
targets = sys.argv[1:]
out = {}
def probe(target):
    host, port = target.rsplit(":", 1)
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, int(port), 0, socket.SOCK_STREAM)[0]
        s = socket.socket(family, kind, proto)
        s.settimeout(2)
        s.connect(address)
        out[target] = "open"
    except socket.timeout:
        out[target] = "timeout"
    except OSError as e:
        out[target] = e.strerror or str(e)
threads = [threading.Thread(target=probe, args=(t,)) for t in targets]
[t.start() for t in threads]
[t.join() for t in threads]
for t in targets:
    print(t + " " + out[t])
`;

export async function reach(engine: EngineClient, container: string, targets: string[]): Promise<Record<string, string>> {
  const quoted = targets.map((t) => `'${t}'`).join(" ");
  const res = await engine.execScript(container, `python3 - ${quoted} <<'PY'\n${CONNECT}\nPY`, { timeoutMs: 20_000 });
  if (res.exitCode !== 0) throw new Error(`the reachability probe failed: ${res.stderr}`);
  return Object.fromEntries(res.stdout.trim().split("\n").map((l) => [l.slice(0, l.indexOf(" ")), l.slice(l.indexOf(" ") + 1)]));
}

/** Whether a ping gets an answer within a second. */
export async function pings(engine: EngineClient, container: string, address: string): Promise<boolean> {
  return (await engine.exec(container, ["ping", "-c1", "-W1", address])).exitCode === 0;
}
