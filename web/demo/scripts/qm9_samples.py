#!/usr/bin/env python3
"""Writes a few QM9 test-split molecules as XYZ for the demo's scoring panel.

usage: qm9_samples.py qm9_test.npz OUT.json
The data stays in ../shared; this copies a handful of molecules into the demo's build output.
"""
import json
import os
import sys
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "weights"))
from convert_npz import read_npy  # noqa: E402

SYMBOLS = {1: "H", 6: "C", 7: "N", 8: "O", 9: "F"}
PICK = [0, 1, 2, 3, 50, 500, 2000, 5000, 9000, 13000]


def formula(elements):
    counts = {}
    for e in elements:
        counts[e] = counts.get(e, 0) + 1
    order = sorted(counts, key=lambda e: (0 if e == "C" else 1 if e == "H" else 2, e))
    return "".join(e + (str(counts[e]) if counts[e] > 1 else "") for e in order)


def main(src, out):
    if not os.path.exists(src):
        # ../shared is absent: the demo works without its built-in examples.
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, "w") as f:
            json.dump([], f)
        print(f"qm9_samples: {src} not found; the demo's built-in QM9 examples are left out")
        return
    z = zipfile.ZipFile(src)
    (n_mol,), n_atoms = read_npy(z.read("num_atoms.npy"))
    (_, width), charges = read_npy(z.read("charges.npy"))
    _, positions = read_npy(z.read("positions.npy"))
    result = []
    for k in PICK:
        if k >= n_mol:
            continue
        n = int(n_atoms[k])
        els = [SYMBOLS[int(charges[k * width + i])] for i in range(n)]
        lines = [str(n), f"QM9 test molecule {k}"]
        for i in range(n):
            x, y, zz = positions[(k * width + i) * 3:(k * width + i) * 3 + 3]
            lines.append(f"{els[i]:<2} {x:12.6f} {y:12.6f} {zz:12.6f}")
        result.append({"name": f"QM9 test #{k}", "index": k, "formula": formula(els), "xyz": "\n".join(lines) + "\n"})
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"qm9_samples: wrote {len(result)} molecules to {out}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1], sys.argv[2])
