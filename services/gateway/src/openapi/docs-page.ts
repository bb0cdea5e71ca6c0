import { dirname } from 'node:path';
import express, { Router } from 'express';

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Warren API</title>
    <link rel="stylesheet" href="/docs/assets/swagger-ui.css" />
    <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/assets/swagger-ui-bundle.js"></script>
    <script src="/docs/init.js"></script>
  </body>
</html>
`;

// A separate file, not an inline script, so helmet's default Content-Security-Policy holds.
const INIT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true });
});
`;

const ASSETS = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-16x16.png', 'favicon-32x32.png']);

/**
 * GET /docs: Swagger UI for /openapi.json, its assets served from the swagger-ui-dist package (no CDN). Mounted
 * at /docs, so that API requests never pass through it (nor get a router span of it in their traces).
 */
export function docsRouter(): Router {
  const router = Router();
  const assetsDirectory = dirname(require.resolve('swagger-ui-dist/package.json'));
  const assets = express.static(assetsDirectory, { index: false, fallthrough: true, maxAge: '1h' });
  router.get('/', (_req, res) => {
    res.type('html').send(PAGE);
  });
  router.get('/init.js', (_req, res) => {
    res.type('application/javascript').send(INIT);
  });
  router.use('/assets', (req, res, next) => {
    if (!ASSETS.has(req.path.replace(/^\//, ''))) {
      next();
      return;
    }
    assets(req, res, next);
  });
  return router;
}
