// Builds the npm package into web/dist: compiles the TypeScript (with .d.ts), copies the
// WebAssembly module from build-wasm/, and converts the authors' QM9 checkpoint from ../shared
// into dist/qm9.safetensors (never committed; its metadata carries the SHA-256 the core checks).
// `npm run build:web` runs this after `npm run build:wasm`.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const root = resolve(web, '..');
const dist = join(web, 'dist');
const wasmDir = process.env.ENF_WASM_BUILD_DIR ?? join(root, 'build-wasm', 'wasm');
const shared = process.env.ENF_SHARED_DIR ?? resolve(root, '..', 'shared');
const checkpoint = join(shared, 'weights', 'en_flows_qm9');

function fail(message) {
  console.error(`build:web: ${message}`);
  process.exit(1);
}

for (const f of ['enf_wasm.js', 'enf_wasm.wasm'])
  if (!existsSync(join(wasmDir, f))) fail(`${join(wasmDir, f)} is missing: run 'npm run build:wasm' first`);

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (!existsSync(tsc)) fail("TypeScript is not installed: run 'npm ci' at the repository root");
execFileSync(process.execPath, [tsc, '-p', web], { stdio: 'inherit' });

copyFileSync(join(wasmDir, 'enf_wasm.js'), join(dist, 'enf_wasm.js'));
copyFileSync(join(wasmDir, 'enf_wasm.wasm'), join(dist, 'enf_wasm.wasm'));
copyFileSync(join(web, 'src', 'enf_wasm.d.ts'), join(dist, 'enf_wasm.d.ts'));

// The bundled QM9 weights, converted from the authors' checkpoint.
const weights = join(dist, 'qm9.safetensors');
const converter = join(root, 'weights', 'convert_checkpoint.py');
if (!existsSync(join(checkpoint, 'flow.pt'))) {
  console.warn(`build:web: ${checkpoint} is absent: the package is built without bundled weights`);
} else {
  if (!existsSync(converter)) fail(`${converter} is missing`);
  const python = process.env.PYTHON ?? 'python3';
  execFileSync(python, [converter, checkpoint, weights], { stdio: ['ignore', 'ignore', 'inherit'] });
  const license = join(checkpoint, 'LICENSE');
  if (existsSync(license)) copyFileSync(license, join(dist, 'WEIGHTS_LICENSE'));
}
const size = (f) => (existsSync(join(dist, f)) ? statSync(join(dist, f)).size : 0);
console.log(
  `build:web: dist/ ready (enf_wasm.wasm ${size('enf_wasm.wasm')} B, enf_wasm.js ${size('enf_wasm.js')} B, ` +
    `qm9.safetensors ${size('qm9.safetensors')} B)`,
);
