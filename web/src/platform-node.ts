// How the package runs in Node: worker_threads, files read from disk, the module compiled from
// the .wasm file next to this one. node.ts and eval-node.ts build on it.
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Platform } from './api.js';
import { EnfError, InvalidInputError } from './errors.js';
import { fetchChecked } from './fetch.js';
import createEnfModule from './enf_wasm.js';

let compiled: Promise<WebAssembly.Module> | null = null;

async function readFileOrFail(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') throw new InvalidInputError(`no such file: '${path}'`);
    throw new EnfError(`cannot read '${path}': ${(e as Error).message}`);
  }
}

export const nodePlatform: Platform = {
  workerFactory: (script) => (onReply, onCrash) => {
    // A worker that runs out of JS heap dies alone (ERR_WORKER_OUT_OF_MEMORY, then replaced)
    // instead of taking the process with it. The model's memory is the wasm heap, outside this
    // limit (at most 2 GB, where an allocation fails with a clear error).
    const w = new Worker(script ?? new URL('./worker.node.js', import.meta.url), {
      name: 'enf-wasm',
      resourceLimits: { maxOldGenerationSizeMb: 256 },
    });
    let ended = false;
    w.on('message', onReply);
    w.on('error', (e) => {
      ended = true;
      onCrash(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
    });
    w.on('exit', (code) => {
      if (!ended) onCrash(`the worker exited with code ${code}`);
      ended = true;
    });
    return {
      post: (m, transfer) => w.postMessage(m, transfer as never),
      terminate: () => {
        ended = true;
        void w.terminate();
      },
      setBusy: (busy) => (busy ? w.ref() : w.unref()),
    };
  },
  compileWasm(wasmUrl) {
    if (wasmUrl !== undefined) {
      // Another copy of the module (a path, a file: URL or an http(s) URL): compiled each time asked.
      const s = String(wasmUrl);
      const bytes = /^https?:/i.test(s)
        ? fetchChecked(s, 'the WebAssembly module').then(async (r) => new Uint8Array(await r.arrayBuffer()))
        : readFileOrFail(s.startsWith('file:') ? fileURLToPath(s) : s);
      return bytes.then((b) => WebAssembly.compile(b as Uint8Array<ArrayBuffer>));
    }
    compiled ??= readFile(fileURLToPath(new URL('./enf_wasm.wasm', import.meta.url))).then((b) => WebAssembly.compile(b));
    compiled.catch(() => (compiled = null));
    return compiled;
  },
  loadFactory: async () => createEnfModule,
  concurrency: () => availableParallelism(),
  sharedMemory: () => typeof SharedArrayBuffer === 'function',
  async readSource(source, onBytes, signal) {
    const s = String(source);
    let bytes: Uint8Array;
    if (/^https?:/i.test(s)) {
      const r = await fetchChecked(s, 'the weights', signal);
      bytes = new Uint8Array(await r.arrayBuffer());
    } else {
      bytes = await readFileOrFail(s.startsWith('file:') ? fileURLToPath(s) : s);
    }
    onBytes(bytes.length, bytes.length);
    return bytes;
  },
  bundled: {
    qm9: () => new URL('./qm9.safetensors', import.meta.url),
  },
};

