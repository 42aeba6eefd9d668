#!/usr/bin/env python3
"""Convert the QM9 test split (numpy .npz) to safetensors with Python's standard library.

usage: convert_npz.py qm9_test.npz OUT.safetensors

Keeps num_atoms (I32 [N]), charges (I32 [N, 29], atomic numbers, 0 = padding) and positions
(F32 [N, 29, 3], Angstrom), so the C++ tests and benchmarks need no zlib or numpy.
"""
import ast
import math
import os
import struct
import sys
import zipfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_checkpoint import write_safetensors  # noqa: E402  (one safetensors writer)

_FORMATS = {"<i8": ("q", 8), "<i4": ("i", 4), "<f8": ("d", 8), "<f4": ("f", 4), "|u1": ("B", 1), "|b1": ("?", 1)}
_ATOMIC_NUMBERS = {1, 6, 7, 8, 9}  # H, C, N, O, F


def read_npy(raw):
    """Returns (shape, flat list of values) of a C-ordered .npy blob."""
    if raw[:6] != b"\x93NUMPY" or len(raw) < 10:
        raise ValueError("not a .npy array")
    major = raw[6]
    if major == 1:
        hlen = struct.unpack("<H", raw[8:10])[0]
        start = 10
    elif major in (2, 3):
        hlen = struct.unpack("<I", raw[8:12])[0]
        start = 12
    else:
        raise ValueError(f"unsupported .npy version {major}")
    try:
        header = ast.literal_eval(raw[start:start + hlen].decode("latin1"))
        descr, fortran, shape = header["descr"], header["fortran_order"], tuple(header["shape"])
    except (ValueError, SyntaxError, KeyError, TypeError) as e:
        raise ValueError(f"malformed .npy header ({e})")
    if fortran:
        raise ValueError("Fortran-ordered arrays are not supported")
    if descr not in _FORMATS:
        raise ValueError(f"unsupported dtype {descr}")
    code, size = _FORMATS[descr]
    count = math.prod(shape)
    body = raw[start + hlen:start + hlen + count * size]
    if len(body) != count * size:
        raise ValueError("array data is truncated")
    return shape, struct.unpack("<%d%s" % (count, code), body)


def check_split(n_atoms, charges, positions, width):
    """The arrays must describe molecules the C++ side can read without further checks."""
    for k, n in enumerate(n_atoms):
        if n != int(n) or not 1 <= n <= width:
            raise ValueError(f"molecule {k}: num_atoms {n} is outside 1..{width}")
        row = charges[k * width:(k + 1) * width]
        for i, z in enumerate(row):
            if i < n and z not in _ATOMIC_NUMBERS:
                raise ValueError(f"molecule {k}, atom {i}: atomic number {z} is not H, C, N, O or F")
            if i >= n and z != 0:
                raise ValueError(f"molecule {k}: padding atom {i} has atomic number {z}, expected 0")
    bad = next((i for i, v in enumerate(positions) if not math.isfinite(v)), None)
    if bad is not None:
        raise ValueError(f"molecule {bad // (3 * width)}: a position is NaN or Inf")


def convert(src, out):
    if not os.path.exists(src):
        raise ValueError("file not found")
    with zipfile.ZipFile(src) as z:
        arrays = {}
        for name in ("num_atoms", "charges", "positions"):
            try:
                arrays[name] = read_npy(z.read(name + ".npy"))
            except KeyError:
                raise ValueError(f"the archive has no {name}.npy")
    n_shape, n_atoms = arrays["num_atoms"]
    c_shape, charges = arrays["charges"]
    p_shape, positions = arrays["positions"]
    if len(c_shape) != 2 or p_shape != (c_shape[0], c_shape[1], 3) or n_shape != (c_shape[0],):
        raise ValueError(f"unexpected shapes num_atoms {n_shape}, charges {c_shape}, positions {p_shape}")
    check_split(n_atoms, charges, positions, c_shape[1])
    tensors = {
        "charges": ("I32", list(c_shape), struct.pack("<%di" % len(charges), *[int(v) for v in charges])),
        "num_atoms": ("I32", list(n_shape), struct.pack("<%di" % len(n_atoms), *[int(v) for v in n_atoms])),
        "positions": ("F32", list(p_shape), struct.pack("<%df" % len(positions), *positions)),
    }
    metadata = {"format": "enf-wasm/qm9-test", "source": os.path.basename(src)}
    write_safetensors(out, tensors, metadata, with_digest=False)
    return c_shape[0]


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    src, out = argv
    try:
        count = convert(src, out)
    except (OSError, ValueError, zipfile.BadZipFile, zlib.error, struct.error, EOFError) as e:
        print(f"convert_npz: {src}: {e}", file=sys.stderr)
        return 1
    print(f"convert_npz: wrote {count} molecules to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
