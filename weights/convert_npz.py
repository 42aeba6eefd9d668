#!/usr/bin/env python3
"""Convert the QM9 test split (numpy .npz) to safetensors with Python's standard library.

usage: convert_npz.py qm9_test.npz OUT.safetensors

Keeps num_atoms (I32 [N]), charges (I32 [N, 29], atomic numbers, 0 = padding) and positions
(F32 [N, 29, 3], Angstrom), so the C++ tests and benchmarks need no zlib or numpy.
"""
import ast
import json
import os
import struct
import sys
import zipfile

_FORMATS = {"<i8": ("q", 8), "<i4": ("i", 4), "<f8": ("d", 8), "<f4": ("f", 4), "|u1": ("B", 1), "|b1": ("?", 1)}


def read_npy(raw):
    """Returns (shape, flat list of values) of a C-ordered .npy blob."""
    if raw[:6] != b"\x93NUMPY":
        raise ValueError("not a .npy array")
    major = raw[6]
    if major == 1:
        hlen = struct.unpack("<H", raw[8:10])[0]
        start = 10
    else:
        hlen = struct.unpack("<I", raw[8:12])[0]
        start = 12
    header = ast.literal_eval(raw[start:start + hlen].decode("latin1"))
    if header["fortran_order"]:
        raise ValueError("Fortran-ordered arrays are not supported")
    descr = header["descr"]
    if descr not in _FORMATS:
        raise ValueError(f"unsupported dtype {descr}")
    code, size = _FORMATS[descr]
    shape = tuple(header["shape"])
    count = 1
    for s in shape:
        count *= s
    body = raw[start + hlen:start + hlen + count * size]
    if len(body) != count * size:
        raise ValueError("array data is truncated")
    return shape, struct.unpack("<%d%s" % (count, code), body)


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    src, out = argv
    try:
        z = zipfile.ZipFile(src)
        arrays = {name: read_npy(z.read(name + ".npy")) for name in ("num_atoms", "charges", "positions")}
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
        print(f"convert_npz: {src}: {e}", file=sys.stderr)
        return 1
    n_shape, n_atoms = arrays["num_atoms"]
    c_shape, charges = arrays["charges"]
    p_shape, positions = arrays["positions"]
    if len(c_shape) != 2 or p_shape != (c_shape[0], c_shape[1], 3) or n_shape != (c_shape[0],):
        print(f"convert_npz: unexpected shapes {n_shape} {c_shape} {p_shape}", file=sys.stderr)
        return 1
    tensors = [
        ("charges", "I32", list(c_shape), struct.pack("<%di" % len(charges), *[int(v) for v in charges])),
        ("num_atoms", "I32", list(n_shape), struct.pack("<%di" % len(n_atoms), *[int(v) for v in n_atoms])),
        ("positions", "F32", list(p_shape), struct.pack("<%df" % len(positions), *positions)),
    ]
    header, data, offset = {}, bytearray(), 0
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        data += raw
        offset += len(raw)
    header["__metadata__"] = {"format": "enf-wasm/qm9-test", "source": os.path.basename(src)}
    blob = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    blob += b" " * (-len(blob) % 8)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(blob)) + blob + data)
    os.replace(out + ".tmp", out)
    print(f"convert_npz: wrote {c_shape[0]} molecules to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
