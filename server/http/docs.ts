import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { ServerResponse } from "node:http";

// /docs: Swagger UI from the swagger-ui-dist package, served by this process (no CDN).

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

const cache = new Map<string, Buffer>();
function asset(name: string): Buffer {
  let body = cache.get(name);
  if (!body) {
    body = readFileSync(join(distDir, name));
    cache.set(name, body);
  }
  return body;
}

/** Answers /docs and its assets; returns false for any other path. */
export function serveDocs(pathname: string, res: ServerResponse): boolean {
  if (pathname === "/docs" || pathname === "/docs/") {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", ...securityHeaders });
    res.end(page);
    return true;
  }
  if (pathname === "/docs/init.js") {
    res.writeHead(200, { "content-type": "text/javascript; charset=utf-8", ...securityHeaders });
    res.end(init);
    return true;
  }
  const name = pathname.startsWith("/docs/") ? pathname.slice("/docs/".length) : "";
  const type = assets[name];
  if (!type) return false;
  res.writeHead(200, { "content-type": type, "cache-control": "public, max-age=86400", ...securityHeaders });
  res.end(asset(name));
  return true;
}
