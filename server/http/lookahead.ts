import { COLLECTION_NAME_MAX_LENGTH, collectionNamePattern, uuidPattern } from "../../contracts/common.js";
import type { CollectionLookahead } from "../auth/principal.js";
import { keyProblem } from "../services/patterns.js";

/**
 * The collection a request names (a decoded path segment and the `project_id` parameter) and, for a
 * read of one key, that key: for the token check to read along. Undefined (or no key) when they cannot
 * name one; the request then fails validation later, after authentication, as before.
 */
export function collectionLookahead(
  name: string | undefined,
  projectId: string | undefined,
  readKey?: string,
): CollectionLookahead | undefined {
  if (name === undefined || name.length > COLLECTION_NAME_MAX_LENGTH || !collectionNamePattern.test(name))
    return undefined;
  if (projectId !== undefined && !uuidPattern.test(projectId)) return undefined;
  const exactKey = readKey !== undefined && !readKey.includes("*") && keyProblem(readKey, 1024) === null;
  return { name, projectId, ...(exactKey ? { key: readKey } : {}) };
}
