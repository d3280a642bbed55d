// Regenerates openapi.json from the contracts (a test fails when the committed file is stale).
import { writeFileSync } from "node:fs";
import { openApiJson } from "../server/openapi.js";

writeFileSync(new URL("../openapi.json", import.meta.url), openApiJson());
console.log("wrote openapi.json");
