// The demo is served with a strict Content-Security-Policy: no inline scripts, no eval; only
// WebAssembly compilation is allowed ('wasm-unsafe-eval').
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';
import { rdkitCsp } from './scripts/rdkit-csp.js';

export const CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
].join('; ');

// Cross-origin isolation gives the page SharedArrayBuffer: a cancelled call stops its worker at the
// next step instead of the worker being replaced, and an exact-trace score is split over all workers.
// Everything the demo loads is same-origin, so require-corp blocks nothing.
export const HEADERS = {
  'Content-Security-Policy': CSP,
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  // RDKit's WebAssembly bindings without run-time code generation (the report view; see the file).
  plugins: [rdkitCsp()],
  // The package resolves its worker, wasm and weights with new URL(..., import.meta.url); keep it
  // out of dependency pre-bundling so those URLs survive in development too.
  optimizeDeps: { exclude: ['enf-wasm'] },
  server: { headers: HEADERS },
  preview: { headers: HEADERS },
  worker: { format: 'es' },
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
  },
});
