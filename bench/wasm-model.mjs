// The raw Embind module of a build directory (enf_wasm.js + enf_wasm.wasm) with the QM9 model
// loaded, for the benchmarks that time the module itself rather than the package's worker pool.
// The module is handed its compiled code: the glue's own loader would fetch() a file path, which
// Node refuses. A failing instantiation rejects instead of hanging.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export async function loadWasmModel(dist, weightsPath) {
  const { default: factory } = await import(pathToFileURL(join(dist, 'enf_wasm.js')).href);
  const compiled = await WebAssembly.compile(readFileSync(join(dist, 'enf_wasm.wasm')));
  const mod = await new Promise((res, rej) =>
    factory({
      instantiateWasm(imports, done) {
        WebAssembly.instantiate(compiled, imports).then((i) => done(i, compiled), rej);
        return {};
      },
      print() {},
      printErr() {},
    }).then(res, rej),
  );
  const loaded = mod.loadModel(new Uint8Array(readFileSync(weightsPath)), true);
  if (loaded.error) throw new Error(loaded.error.message);
  return loaded.model;
}
