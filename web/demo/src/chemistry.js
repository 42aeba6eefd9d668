// @ts-check
// Display tables for the viewer: CPK colours and covalent radii (Angstrom). Bond orders and
// stability come from the core through the package (one implementation of the QM9 rules).
export const ELEMENTS = {
  H: { color: '#f2f2f2', radius: 0.31 },
  C: { color: '#505050', radius: 0.76 },
  N: { color: '#3050f8', radius: 0.71 },
  O: { color: '#ff0d0d', radius: 0.66 },
  F: { color: '#90e050', radius: 0.57 },
};
