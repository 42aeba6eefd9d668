// @ts-check
// Small 3-D geometry for the equivariance check: a uniform random rotation, and the RMSD of two
// conformations after optimal superposition (Kabsch), so the check does not depend on knowing R.

/** A uniform random rotation (row-major 3x3) from a random unit quaternion. */
export function randomRotation(rand = Math.random) {
  const u = [rand(), rand(), rand()];
  const [x, y, z, w] = [Math.sqrt(1 - u[0]) * Math.sin(2 * Math.PI * u[1]), Math.sqrt(1 - u[0]) * Math.cos(2 * Math.PI * u[1]),
    Math.sqrt(u[0]) * Math.sin(2 * Math.PI * u[2]), Math.sqrt(u[0]) * Math.cos(2 * Math.PI * u[2])];
  return [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
    2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
    2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)];
}

/**
 * RMSD between two conformations (flat x, y, z per atom, same atom order) after centring both and
 * rotating `a` onto `b` by the optimal proper rotation. Horn's quaternion form of Kabsch: the
 * rotation is the top eigenvector of a symmetric 4x4 matrix (Jacobi sweeps, no library needed).
 * @param {ArrayLike<number>} a
 * @param {ArrayLike<number>} b
 * @returns {{ rmsd: number }}
 */
export function kabsch(a, b) {
  const n = a.length / 3;
  if (n !== b.length / 3 || n < 1) throw new RangeError('kabsch: two conformations of the same atoms');
  const ca = [0, 0, 0], cb = [0, 0, 0];
  for (let i = 0; i < n; i++) for (let r = 0; r < 3; r++) { ca[r] += a[3 * i + r] / n; cb[r] += b[3 * i + r] / n; }
  const S = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  let ga = 0, gb = 0;
  for (let i = 0; i < n; i++) {
    const p = [0, 1, 2].map((r) => a[3 * i + r] - ca[r]);
    const q = [0, 1, 2].map((r) => b[3 * i + r] - cb[r]);
    for (let r = 0; r < 3; r++) {
      ga += p[r] * p[r];
      gb += q[r] * q[r];
      for (let c = 0; c < 3; c++) S[r][c] += p[r] * q[c];
    }
  }
  const [[xx, xy, xz], [yx, yy, yz], [zx, zy, zz]] = S;
  const K = [
    [xx + yy + zz, yz - zy, zx - xz, xy - yx],
    [yz - zy, xx - yy - zz, xy + yx, zx + xz],
    [zx - xz, xy + yx, -xx + yy - zz, yz + zy],
    [xy - yx, zx + xz, yz + zy, -xx - yy + zz],
  ];
  const lmax = Math.max(...symmetricEigenvalues(K));
  // Sum of squared deviations after the best rotation: ga + gb - 2 lmax (clamped at round-off).
  return { rmsd: Math.sqrt(Math.max(0, ga + gb - 2 * lmax) / n) };
}

/** Eigenvalues of a small symmetric matrix by cyclic Jacobi rotations. */
function symmetricEigenvalues(/** @type {number[][]} */ m) {
  const A = m.map((row) => row.slice());
  const n = A.length;
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p][q] * A[p][q];
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(A[p][q]) < 1e-300) continue;
        const theta = (A[q][q] - A[p][p]) / (2 * A[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k][p], akq = A[k][q];
          A[k][p] = c * akp - s * akq;
          A[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p][k], aqk = A[q][k];
          A[p][k] = c * apk - s * aqk;
          A[q][k] = s * apk + c * aqk;
        }
      }
  }
  return A.map((row, i) => row[i]);
}
