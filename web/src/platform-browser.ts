// How the package runs in browsers (and bundlers): module Web Workers, fetch, streaming
// compilation of the .wasm next to this file. index.ts builds on it.
import type { Platform } from './api.js';
import { fetchChecked } from './fetch.js';
import { declaredSafetensorsSize } from './weights.js';
import type { EnfModuleFactory } from './wasm-module.js';

// One compile per WebAssembly URL and page.
const compiled = new Map<string, Promise<WebAssembly.Module>>();


export const browserPlatform: Platform = {
  workerFactory: (script) => (onReply, onCrash) => {
    // The literal `new Worker(new URL(...), ...)` is what bundlers (Vite, webpack) recognise and emit.
    const w = script
      ? new Worker(script, { type: 'module', name: 'enf-wasm' })
      : new Worker(new URL('./worker.browser.js', import.meta.url), { type: 'module', name: 'enf-wasm' });
    w.onmessage = (e) => onReply(e.data);
    w.onerror = (e) => {
      e.preventDefault();
      onCrash(e.message || 'the worker failed (an error without a message: check that the worker script loads)');
    };
    w.onmessageerror = () => onCrash('a message from the worker could not be deserialised');
    return {
      post: (m, transfer) => w.postMessage(m, transfer ?? []),
      terminate: () => w.terminate(),
      setBusy: () => {},
    };
  },
  compileWasm(wasmUrl) {
    const url = wasmUrl ?? new URL('./enf_wasm.wasm', import.meta.url);
    const key = String(url);
    let job = compiled.get(key);
    if (job) return job;
    job = (async () => {
      if (typeof WebAssembly.compileStreaming === 'function') {
        try {
          return await WebAssembly.compileStreaming(fetchChecked(url, 'the WebAssembly module'));
        } catch {
          // wrong MIME type on the server, or no streaming: fall back to bytes
        }
      }
      return WebAssembly.compile(await (await fetchChecked(url, 'the WebAssembly module')).arrayBuffer());
    })();
    compiled.set(key, job);
    job.catch(() => compiled.delete(key));
    return job;
  },
  async loadFactory() {
    return (await import('./enf_wasm.js')).default as EnfModuleFactory;
  },
  concurrency: () => (typeof navigator !== 'undefined' && navigator.hardwareConcurrency) || 4,
  sharedMemory: () =>
    typeof SharedArrayBuffer === 'function' && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false,
  async readSource(source, onBytes, signal) {
    const r = await fetchChecked(source, 'the weights', signal);
    let total = Number(r.headers.get('content-length')) || 0;
    if (!r.body) return new Uint8Array(await r.arrayBuffer());
    const reader = r.body.getReader();
    const chunks: Uint8Array[] = [];
    let loaded = 0;
    // Without a Content-Length (compressed or chunked responses) the file's own header says how
    // big it is: progress still runs from 0 to 1.
    let head = new Uint8Array(0);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.length;
      if (!total && head.length < 65536) {
        const grown = new Uint8Array(head.length + value.length);
        grown.set(head);
        grown.set(value, head.length);
        head = grown;
        total = declaredSafetensorsSize(head);
      }
      onBytes(loaded, total); // total 0: not known yet
    }
    const out = new Uint8Array(loaded);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  },
  bundled: {
    qm9: () => new URL('./qm9.safetensors', import.meta.url),
  },
};

