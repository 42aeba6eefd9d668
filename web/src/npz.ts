// Reads arrays from a NumPy .npz file (a zip of .npy files, stored or deflated) in Node. Used by
// `enf bench` to take its test molecule from ../shared/data/qm9_test.npz, as the native bench does.
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { InvalidInputError } from './errors.js';

export interface NpyArray {
  dtype: string;
  shape: number[];
  data: Float64Array;
}

function entries(buf: Buffer): Map<string, Buffer> {
  // End of central directory record: signature 0x06054b50 within the last 64 KiB.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); --i)
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd < 0) throw new InvalidInputError('not a .npz (zip) file');
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const out = new Map<string, Buffer>();
  for (let k = 0; k < count; ++k) {
    if (buf.readUInt32LE(at) !== 0x02014b50) throw new InvalidInputError('corrupt .npz central directory');
    const method = buf.readUInt16LE(at + 10);
    const csize = buf.readUInt32LE(at + 20);
    const nameLen = buf.readUInt16LE(at + 28);
    const extraLen = buf.readUInt16LE(at + 30);
    const commentLen = buf.readUInt16LE(at + 32);
    const local = buf.readUInt32LE(at + 42);
    const name = buf.toString('utf8', at + 46, at + 46 + nameLen);
    const dataAt = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(dataAt, dataAt + csize);
    out.set(name, method === 8 ? inflateRawSync(raw) : raw);
    at += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

function parseNpy(b: Buffer): NpyArray {
  if (b.toString('latin1', 1, 6) !== 'NUMPY') throw new InvalidInputError('not a .npy array');
  const major = b[6];
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = b.toString('latin1', hstart, hstart + hlen);
  const dtype = /'descr':\s*'([^']+)'/.exec(header)?.[1] ?? '';
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (/'fortran_order':\s*True/.test(header)) throw new InvalidInputError('Fortran-ordered .npy arrays are not supported');
  const n = shape.reduce((a, c) => a * c, 1);
  const body = b.subarray(hstart + hlen);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const data = new Float64Array(n);
  const readers: Record<string, [number, (o: number) => number]> = {
    '<f4': [4, (o) => view.getFloat32(o, true)],
    '<f8': [8, (o) => view.getFloat64(o, true)],
    '<i8': [8, (o) => Number(view.getBigInt64(o, true))],
    '<i4': [4, (o) => view.getInt32(o, true)],
    '|u1': [1, (o) => view.getUint8(o)],
    '|i1': [1, (o) => view.getInt8(o)],
  };
  const r = readers[dtype];
  if (!r) throw new InvalidInputError(`unsupported .npy dtype ${dtype}`);
  for (let i = 0; i < n; ++i) data[i] = r[1](i * r[0]);
  return { dtype, shape, data };
}

/** Reads the named arrays of a .npz file. */
export function readNpz(path: string, names: string[]): Record<string, NpyArray> {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch {
    throw new InvalidInputError(`cannot read '${path}' (the QM9 test split, ../shared/data/qm9_test.npz); pass --data PATH`);
  }
  const files = entries(buf);
  const out: Record<string, NpyArray> = {};
  for (const name of names) {
    const f = files.get(`${name}.npy`);
    if (!f) throw new InvalidInputError(`'${path}' has no array '${name}'`);
    out[name] = parseNpy(f);
  }
  return out;
}

/** The first molecule of the QM9 test split with `atoms` atoms (atomic numbers and positions in Å). */
export function firstTestMolecule(path: string, atoms: number): { elements: number[]; positions: Float64Array } {
  const { num_atoms, charges, positions } = readNpz(path, ['num_atoms', 'charges', 'positions']);
  const maxN = charges.shape[1];
  for (let k = 0; k < num_atoms.data.length; ++k) {
    if (num_atoms.data[k] !== atoms) continue;
    const elements: number[] = [];
    const pos = new Float64Array(3 * atoms);
    for (let i = 0; i < atoms; ++i) {
      elements.push(charges.data[k * maxN + i]);
      for (let d = 0; d < 3; ++d) pos[3 * i + d] = positions.data[(k * maxN + i) * 3 + d];
    }
    return { elements, positions: pos };
  }
  throw new InvalidInputError(`no test molecule with ${atoms} atoms in '${path}'`);
}
