import type { Services } from "../context.js";
import { AppError } from "../errors.js";
import type { GetHealthOutput } from "../../contracts/system/get-health.js";

export async function checkHealth({ db }: Services, timeoutMs = 2000): Promise<GetHealthOutput> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      db.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("timeout")), timeoutMs);
      }),
    ]);
  } catch {
    throw new AppError("SERVICE_UNAVAILABLE", "The database does not answer");
  } finally {
    clearTimeout(timer);
  }
  return { status: "ok", database: db.kind };
}
