import { createServer, connect, type Server, type Socket } from "node:net";

/**
 * A local TCP proxy in front of a PostgreSQL server, to simulate faults without touching the server:
 * `cut()` drops every connection and refuses new ones, `hang()` accepts connections and forwards
 * nothing (an unreachable host), `restore()` forwards again.
 */
export interface TcpProxy {
  port: number;
  cut(): void;
  hang(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  let mode: "forward" | "refuse" | "hang" = "forward";
  const sockets = new Set<Socket>();
  const hung = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
  };
  const server: Server = createServer((client) => {
    track(client);
    if (mode === "refuse") return void client.destroy();
    if (mode === "hang") return void hung.add(client);
    const upstream = connect(targetPort, targetHost);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const dropAll = () => {
    for (const s of sockets) s.destroy();
  };
  return {
    port,
    cut() {
      mode = "refuse";
      dropAll();
    },
    hang() {
      mode = "hang";
      dropAll();
    },
    restore() {
      mode = "forward";
      for (const s of hung) s.destroy(); // hung connections never recover; the pool opens new ones
      hung.clear();
    },
    async close() {
      dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** DATABASE_URL with another host:port and/or extra query parameters. */
export function rewriteDatabaseUrl(
  url: string,
  change: { port?: number; params?: Record<string, string> },
): string {
  const u = new URL(url);
  if (change.port !== undefined) {
    u.hostname = "127.0.0.1";
    u.port = String(change.port);
  }
  for (const [k, v] of Object.entries(change.params ?? {})) u.searchParams.set(k, v);
  return u.toString();
}
