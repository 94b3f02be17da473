/**
 * A client for the class server's live stream (server-sent events) on Node's http module:
 * each `class` event is a whole ClassView. A dropped connection is retried every 2 s until
 * closed.
 */
import { request as httpRequest, type ClientRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { ClassView } from "../aggregate.js";
import { t } from "../../i18n/index.js";

export interface StreamHandlers {
  onView(view: ClassView): void;
  onProblem(problem: string): void;
}

/** Splits a server-sent-event stream into events; feed it chunks of text. */
export function sseParser(onEvent: (event: string, data: string) => void): (chunk: string) => void {
  let buffer = "";
  return (chunk) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent(event, data.join("\n"));
    }
  };
}

export function openStream(url: string, token: string, handlers: StreamHandlers): { close(): void } {
  let closed = false;
  let req: ClientRequest | undefined;
  let retry: NodeJS.Timeout | undefined;
  const again = (problem: string) => {
    if (closed) return;
    handlers.onProblem(problem);
    retry = setTimeout(connect, 2000);
  };
  function connect(): void {
    const target = new URL(`${url}/api/stream`);
    req = (target.protocol === "https:" ? httpsRequest : httpRequest)(target, { headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return again(res.statusCode === 401 ? t("classroom.watch.badToken") : `HTTP ${res.statusCode}`);
      }
      res.setEncoding("utf8");
      const feed = sseParser((event, data) => {
        if (event !== "class") return;
        try {
          handlers.onView(JSON.parse(data) as ClassView);
        } catch {
          // a torn frame: the next one replaces it
        }
      });
      res.on("data", feed);
      res.on("end", () => again(t("classroom.watch.closed")));
      res.on("error", (e) => again(e.message));
    });
    req.on("error", (e) => again(e.message));
    req.end();
  }
  connect();
  return {
    close() {
      closed = true;
      clearTimeout(retry);
      req?.destroy();
    },
  };
}
