// enf-wasm for browsers (and bundlers): E(n) equivariant normalizing flows on QM9, in Web Workers.
//
//   import { loadModel } from 'enf-wasm';
//   const model = await loadModel('qm9', { onProgress: (p) => console.log(p) });
//   const [molecule] = await model.sample({ seed: 1, atoms: 19 });
//   for await (const frame of model.sampleTrajectory({ seed: 1, frames: 50 })) draw(frame);
import { entryPoints } from './entry.js';
import { browserPlatform } from './platform-browser.js';

export * from './exports.js';
export const { loadModel, createTrainer, loadParticleFlow, ready, parseXYZ, parseSDF, parseMolecule, toXYZ, toSDF, bonds, stability, formula } =
  entryPoints(browserPlatform);
/** The model report (pass `rdkit`, an initialised @rdkit/rdkit module, for SMILES). */
export { evaluate } from './eval.js';
