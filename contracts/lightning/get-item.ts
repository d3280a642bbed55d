import { z } from "zod";
import { projectIdShape } from "./shared.js";

// GET /lightning/collections/{name}/{key}: one item by exact key; 204 with an empty body when missing.

export const query = z.strictObject({ ...projectIdShape });
