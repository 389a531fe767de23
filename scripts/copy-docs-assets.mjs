// Copies the API reference UI bundle into public/vendor so /docs renders with no internet (the package's
// default loads it from a CDN). Runs on `npm install`; the copy is not committed.
import { copyFileSync, mkdirSync } from 'node:fs';

// The package exports no subpath for its browser bundle, so it is read from its install folder.
const bundle = 'node_modules/@scalar/api-reference/dist/browser/standalone.js';
mkdirSync('public/vendor/scalar', { recursive: true });
copyFileSync(bundle, 'public/vendor/scalar/standalone.js');
