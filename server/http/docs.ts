import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { IncomingMessage, ServerResponse } from "node:http";
import { StaticAsset } from "./static-asset.js";

// /docs: Swagger UI from the swagger-ui-dist package, served by this process (no CDN, no online validator).

const require = createRequire(import.meta.url);
const distDir = dirname(require.resolve("swagger-ui-dist/package.json"));

const assets: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
};

const page = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Collections service API</title>
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

const init = `window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null, // no call to the online validator
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout",
});
`;

const securityHeaders = {
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};

/** The page, its script and the package's assets, each read (and compressed) once. */
const files = new Map<string, StaticAsset>();

function docsFile(name: string): StaticAsset | undefined {
  let file = files.get(name);
  if (file) return file;
  if (name === "" || name === "index.html") {
    file = new StaticAsset(Buffer.from(page), {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-cache",
      ...securityHeaders,
    });
  } else if (name === "init.js") {
    file = new StaticAsset(Buffer.from(init), {
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": "no-cache",
      ...securityHeaders,
    });
  } else if (assets[name]) {
    file = new StaticAsset(readFileSync(join(distDir, name)), {
      "content-type": assets[name],
      "cache-control": "public, max-age=86400",
      ...securityHeaders,
    });
  } else return undefined;
  files.set(name, file);
  return file;
}

/** The file of a /docs path ("/docs" and "/docs/" are the page), or undefined. */
const docsName = (pathname: string): string | undefined =>
  pathname === "/docs" ? "" : pathname.startsWith("/docs/") ? pathname.slice("/docs/".length) : undefined;

/** Whether a path is /docs or one of its files. */
export const isDocsPath = (pathname: string): boolean => {
  const name = docsName(pathname);
  return name !== undefined && (name === "" || name === "index.html" || name === "init.js" || name in assets);
};

/** Answers GET or HEAD of /docs and its files (isDocsPath). */
export function serveDocs(pathname: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  return docsFile(docsName(pathname)!)!.send(req, res);
}
