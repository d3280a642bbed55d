import { connect, type Socket } from "node:net";
import { request, type IncomingMessage } from "node:http";

/** A raw TCP connection to the server; `text()` is everything received until it closes. */
export function openSocket(url: string): Promise<{ socket: Socket; closed: Promise<string> }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      let received = "";
      socket.setEncoding("utf8");
      socket.on("data", (d: string) => (received += d));
      const closed = new Promise<string>((done) => socket.on("close", () => done(received)));
      socket.on("error", () => {});
      resolve({ socket, closed });
    });
    socket.once("error", reject);
  });
}

/** A GET whose response is paused after the status line: the server soon blocks on backpressure. */
export function pausedGet(
  url: string,
  headers: Record<string, string>,
): Promise<{ res: IncomingMessage; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false }, (res) => {
      res.pause();
      resolve({ res, close: () => req.destroy() });
    });
    req.on("error", (e) => (req.destroyed ? undefined : reject(e)));
    req.end();
  });
}

/** Reads the rest of a response: its text and whether the transfer ended normally. */
export function drain(res: IncomingMessage): Promise<{ text: string; complete: boolean }> {
  return new Promise((resolve) => {
    let text = "";
    res.setEncoding("utf8");
    res.on("data", (d: string) => (text += d));
    res.on("end", () => resolve({ text, complete: res.complete }));
    res.on("error", () => resolve({ text, complete: false }));
    res.on("aborted", () => resolve({ text, complete: false }));
    res.resume();
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
