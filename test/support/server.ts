import { startHttpServer, type RunningServer } from "../../server/http/server.js";
import { createTestServices, type TestServices } from "./services.js";

export interface TestServer {
  url: string;
  services: TestServices;
  running: RunningServer;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1, port 0, over createTestServices(). */
export async function startTestServer(
  overrides: Record<string, string | undefined> = {},
): Promise<TestServer> {
  const services = await createTestServices(overrides);
  const running = await startHttpServer(services, 0, "127.0.0.1");
  return {
    url: running.url,
    services,
    running,
    async close() {
      await running.stop();
      await services.close();
    },
  };
}
