// The package's entry points on a platform: index.ts (browsers) and node.ts (Node) export the same
// functions, built here once.
import { chemHelpers, loadModelWith, type EnfModel, type LoadOptions, type ModelSource, type Platform } from './api.js';
import { createTrainerWith, loadParticleFlowWith, type ParticleFlow, type Trainer } from './train.js';
import type { TrainerOptions } from './types.js';

export function entryPoints(platform: Platform) {
  const chem = chemHelpers(platform);
  return {
    /**
     * Loads a model and starts its worker pool.
     * @param source 'qm9' (the bundled pretrained QM9 E-NF), a URL of a .safetensors file, its
     * bytes, or in Node a file path.
     */
    loadModel(source: ModelSource = 'qm9', options: LoadOptions = {}): Promise<EnfModel> {
      return loadModelWith(platform, source, options);
    },
    /** Trains a particle flow on a built-in system or a pair energy, in a worker of its own (see README, Training). */
    createTrainer(options: TrainerOptions): Promise<Trainer> {
      return createTrainerWith(platform, options);
    },
    /** A trained particle flow from exported weights (trainer.exportWeights()), in a worker of its own. */
    loadParticleFlow(bytes: Uint8Array | ArrayBuffer): Promise<ParticleFlow> {
      return loadParticleFlowWith(platform, bytes);
    },
    /** Resolves when parseXYZ, parseSDF, parseMolecule, toXYZ, toSDF, bonds and stability can run (loadModel() waits for this too). */
    ready: chem.ready,
    /** Parses XYZ text into `{ elements, positions }` (Å). */
    parseXYZ: chem.parseXYZ,
    /** Every record of an SDF / MOL text (V2000): its molecule or its error, per record. */
    parseSDF: chem.parseSDF,
    /** One molecule from XYZ or a one-record SDF / MOL text, by content. */
    parseMolecule: chem.parseMolecule,
    /** XYZ text of a molecule. */
    toXYZ: chem.toXYZ,
    /** SDF (V2000) text of a molecule, with bonds inferred from distances. */
    toSDF: chem.toSDF,
    /** Bonds inferred from interatomic distances (the QM9 rule). */
    bonds: chem.bonds,
    /** Per-atom valence check (atom and molecule stability). */
    stability: chem.stability,
    /** Hill formula of element symbols. */
    formula: chem.formula,
  };
}
