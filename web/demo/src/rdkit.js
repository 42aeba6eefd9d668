// @ts-check
// RDKit MinimalLib, loaded once per page on first use (its 7 MB .wasm is fetched only then): the
// report's validity and SMILES, and each card's SMILES and 2-D drawing. The build patches it to
// run without `new Function` (scripts/rdkit-csp.js), so the page keeps its Content-Security-Policy.

/** @type {Promise<any> | null} */
let loading = null;

/** @returns {Promise<any>} the RDKit module */
export function loadRDKit() {
  loading ??= (async () => {
    const [{ default: init }, { default: wasmUrl }] = await Promise.all([
      import('@rdkit/rdkit'),
      // @ts-ignore: Vite's ?url import
      import('@rdkit/rdkit/RDKit_minimal.wasm?url'),
    ]);
    return /** @type {any} */ (init)({ locateFile: () => wasmUrl });
  })();
  loading.catch(() => (loading = null));
  return loading;
}

/**
 * A 2-D drawing of a SMILES as an SVG data URL for an <img> (an image document keeps RDKit's
 * inline styles away from the page's CSP), or null.
 * @param {any} rdkit
 * @param {string} smiles
 * @returns {string | null}
 */
export function drawingUrl(rdkit, smiles) {
  let mol = null;
  try {
    mol = rdkit.get_mol(smiles);
    if (!mol) return null;
    const svg = mol.get_svg(160, 110);
    return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
  } catch {
    return null;
  } finally {
    mol?.delete();
  }
}
