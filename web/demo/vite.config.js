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

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  // RDKit's WebAssembly bindings without run-time code generation (the report view; see the file).
  plugins: [rdkitCsp()],
  // The package resolves its worker, wasm and weights with new URL(..., import.meta.url); keep it
  // out of dependency pre-bundling so those URLs survive in development too.
  optimizeDeps: { exclude: ['enf-wasm'] },
  server: { headers: { 'Content-Security-Policy': CSP } },
  preview: { headers: { 'Content-Security-Policy': CSP } },
  worker: { format: 'es' },
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
  },
});
