import { z } from "zod";
import { projectIdShape } from "./shared.js";

// GET /lightning/collections/{name}/{key}: one item by exact key; 204 with an empty body when missing.

// Lightning ignores query parameters a route does not use (SPEC §5): they are dropped, not refused.
export const query = z.object({ ...projectIdShape });
