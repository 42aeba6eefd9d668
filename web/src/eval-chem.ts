// Molecular graphs for the model report: a molecule and its bond orders (from the core's QM9
// bond-length rule) as an MDL molfile, and canonical SMILES through RDKit's WebAssembly build
// (@rdkit/rdkit, an optional peer dependency the caller loads; nothing here imports it).
import type { Bond } from './types.js';

/** The part of RDKit's MinimalLib (`initRDKitModule()`) the report uses. */
export interface RDKitLike {
  get_mol(input: string, details?: string): RDKitMolLike | null;
  version(): string;
}

export interface RDKitMolLike {
  get_smiles(details?: string): string;
  remove_hs_in_place?(): boolean;
  delete(): void;
}

/** What `smilesOf` needs: symbols, flat positions (Å) and bonds with orders. */
export interface GraphInput {
  elements: readonly string[];
  positions: ArrayLike<number>;
  bonds: readonly Bond[];
}

const fixed = (v: number, w: number, p: number) => v.toFixed(p).padStart(w);
const int3 = (v: number) => String(v).padStart(3);

/**
 * An MDL V2000 molfile of the molecule with exactly the given bonds (orders 1-3), neutral atoms.
 * RDKit reads it without perceiving bonds itself, so the graph is the QM9 rule's.
 */
export function molBlock(m: GraphInput, title = ''): string {
  const M = m.elements.length;
  if (M > 999 || m.bonds.length > 999) throw new RangeError('molBlock: V2000 holds at most 999 atoms and bonds');
  const lines = [title.replace(/[\r\n]/g, ' ').slice(0, 80), '  enf-wasm', '', `${int3(M)}${int3(m.bonds.length)}  0  0  0  0  0  0  0  0999 V2000`];
  for (let i = 0; i < M; ++i) {
    const [x, y, z] = [0, 1, 2].map((d) => Number(m.positions[3 * i + d]));
    lines.push(`${fixed(x, 10, 4)}${fixed(y, 10, 4)}${fixed(z, 10, 4)} ${m.elements[i].padEnd(3)} 0  0  0  0  0  0  0  0  0  0  0  0`);
  }
  for (const b of m.bonds) lines.push(`${int3(b.i + 1)}${int3(b.j + 1)}${int3(b.order)}  0`);
  lines.push('M  END');
  return lines.join('\n') + '\n';
}

/** RDKit's verdict on a molecular graph. */
export interface SmilesResult {
  /** RDKit parsed and sanitised the graph (valences, aromaticity, kekulisation). */
  valid: boolean;
  /**
   * Canonical SMILES of the graph, hydrogens implicit, without stereochemistry ('.' separates
   * disconnected fragments); null when invalid. The paper maps molecules to graphs, then SMILES.
   */
  smiles: string | null;
  /** The same with the stereochemistry RDKit reads from the 3-D coordinates (chiral centres, E/Z). */
  isomeric: string | null;
  /** Number of connected fragments (1 for a connected molecule); 0 when invalid. */
  fragments: number;
}

/** Canonical SMILES of the molecule's graph, hydrogens implicit, as the paper maps stable samples. */
export function smilesOf(rdkit: RDKitLike, m: GraphInput): SmilesResult {
  const invalid: SmilesResult = { valid: false, smiles: null, isomeric: null, fragments: 0 };
  const block = molBlock(m);
  let mol: RDKitMolLike | null = null;
  let light: RDKitMolLike | null = null;
  try {
    // Sanitise with the hydrogens still there: MinimalLib's removeHs option strips them before the
    // valence check, which would let a pentavalent carbon through.
    mol = rdkit.get_mol(block, JSON.stringify({ sanitize: true, removeHs: false }));
    if (!mol) return invalid;
    let target = mol;
    if (typeof mol.remove_hs_in_place === 'function') mol.remove_hs_in_place();
    else {
      light = rdkit.get_mol(block, JSON.stringify({ sanitize: true, removeHs: true }));
      if (!light) return invalid;
      target = light;
    }
    const isomeric = target.get_smiles();
    const smiles = target.get_smiles(JSON.stringify({ doIsomericSmiles: false }));
    if (!smiles) return invalid;
    return { valid: true, smiles, isomeric, fragments: smiles.split('.').length };
  } catch {
    // MinimalLib throws on some malformed graphs instead of returning null.
    return invalid;
  } finally {
    mol?.delete();
    light?.delete();
  }
}
