// The Emscripten glue (build-wasm/wasm/enf_wasm.js, copied into dist/).
import type { EnfModuleFactory } from './wasm-module.js';
declare const createEnfModule: EnfModuleFactory;
export default createEnfModule;
