#!/usr/bin/env python3
"""Convert the authors' pretrained QM9 E-NF checkpoint to one safetensors file.

usage: convert_checkpoint.py CHECKPOINT_DIR OUT.safetensors [--facts qm9_facts.json]

CHECKPOINT_DIR holds flow.pt, dequantizer.pt, args.json and LICENSE (PyTorch >= 1.6 zip
archives). Only Python's standard library is used: zipfile for the archive and a restricted
unpickler that rebuilds each tensor as (storage key, offset, shape, stride) without torch.
The output holds every float tensor under its original name, and in __metadata__ the model
configuration, the training arguments, the weights' license and a SHA-256 of the data section.
"""
import hashlib
import json
import os
import pickle
import struct
import sys
import zipfile


class CheckpointError(Exception):
    pass


class _TensorRef:
    def __init__(self, storage, offset, shape, stride):
        self.storage, self.offset, self.shape, self.stride = storage, offset, tuple(shape), tuple(stride)


def _rebuild_tensor(storage, offset, shape, stride, *_):
    return _TensorRef(storage, offset, shape, stride)


class _Unpickler(pickle.Unpickler):
    """Resolves only what a state_dict needs; anything else is refused."""

    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch" and name.endswith("Storage"):
            return name  # the storage type, e.g. "FloatStorage"
        if module == "collections" and name == "OrderedDict":
            import collections
            return collections.OrderedDict
        raise CheckpointError(f"unexpected object {module}.{name} in the checkpoint")

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, numel)
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise CheckpointError(f"unexpected persistent id {pid!r}")
        return {"type": pid[1], "key": pid[2], "numel": pid[4]}


def read_state_dict(path):
    """Returns {name: (shape, little-endian float32 bytes)} for the float tensors of a .pt file."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as e:
        raise CheckpointError(f"{path}: not a PyTorch zip checkpoint ({e})")
    names = archive.namelist()
    pkl = [n for n in names if n.endswith("/data.pkl")]
    if len(pkl) != 1:
        raise CheckpointError(f"{path}: expected one data.pkl in the archive")
    root = pkl[0][: -len("data.pkl")]
    state = _Unpickler(archive.open(pkl[0])).load()
    tensors = {}
    for name, ref in state.items():
        if not isinstance(ref, _TensorRef):
            raise CheckpointError(f"{path}: entry {name!r} is not a tensor")
        if ref.storage["type"] != "FloatStorage":
            continue  # e.g. ActNorm's `initialized` flag (int64)
        if name.endswith("int_time"):
            continue  # integration bounds [0, 1], fixed by the model definition
        numel = 1
        for s in ref.shape:
            numel *= s
        expected = []
        acc = 1
        for s in reversed(ref.shape):
            expected.append(acc)
            acc *= s
        if tuple(reversed(expected)) != ref.stride and numel > 1:
            raise CheckpointError(f"{path}: tensor {name!r} is not contiguous")
        raw = archive.read(root + "data/" + ref.storage["key"])
        start, end = 4 * ref.offset, 4 * (ref.offset + numel)
        if end > len(raw):
            raise CheckpointError(f"{path}: tensor {name!r} runs past its storage")
        tensors[name] = (list(ref.shape), raw[start:end])
    return tensors


def model_config(facts):
    hist = {}
    if facts:
        hist = {str(k): int(v) for k, v in sorted(facts["n_atoms_histogram_train"].items(), key=lambda kv: int(kv[0]))}
    return {
        "flow": {"n_layers": 6, "hidden": 64, "in_features": 7, "out_features": 7, "attention": True,
                 "tanh": True, "coords_range": 15.0, "edge_attr": True, "aggregation": "sum",
                 "condition_time": True, "actnorm": True},
        "dequantizer": {"kind": "argmax_variational", "n_layers": 4, "hidden": 64, "in_features": 6,
                        "out_features": 12, "attention": False, "tanh": False, "edge_attr": False},
        "atom_types": ["H", "C", "N", "O", "F"],
        "atomic_numbers": [1, 6, 7, 8, 9],
        "max_atoms": 29,
        "n_atoms_histogram": hist,
    }


def write_safetensors(path, tensors, metadata):
    header = {}
    offset = 0
    data = bytearray()
    for name in sorted(tensors):
        shape, raw = tensors[name]
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        data += raw
        offset += len(raw)
    metadata = dict(metadata)
    metadata["sha256"] = hashlib.sha256(bytes(data)).hexdigest()
    header["__metadata__"] = metadata
    blob = json.dumps(header, separators=(",", ":"), sort_keys=True).encode("utf-8")
    blob += b" " * (-len(blob) % 8)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        f.write(data)
    os.replace(tmp, path)


def main(argv):
    args = list(argv)
    facts_path = None
    if "--facts" in args:
        i = args.index("--facts")
        facts_path = args[i + 1]
        del args[i:i + 2]
    if len(args) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    src, out = args
    if facts_path is None:
        guess = os.path.join(src, "..", "..", "docs", "qm9_facts.json")
        facts_path = guess if os.path.exists(guess) else None
    try:
        facts = json.load(open(facts_path)) if facts_path else None
        if facts is None:
            raise CheckpointError("qm9_facts.json not found (needed for p(M)); pass --facts PATH")
        tensors = {}
        tensors.update(read_state_dict(os.path.join(src, "flow.pt")))
        tensors.update(read_state_dict(os.path.join(src, "dequantizer.pt")))
        with open(os.path.join(src, "args.json")) as f:
            source_args = f.read()
        json.loads(source_args)
        license_path = os.path.join(src, "LICENSE")
        license_text = open(license_path).read() if os.path.exists(license_path) else ""
        metadata = {
            "format": "enf-wasm/1",
            "model": "qm9",
            "config": json.dumps(model_config(facts), sort_keys=True),
            "source": source_args,
            "license": license_text,
        }
        write_safetensors(out, tensors, metadata)
    except (CheckpointError, OSError, ValueError, KeyError, pickle.UnpicklingError) as e:
        print(f"convert_checkpoint: {e}", file=sys.stderr)
        return 1
    print(f"convert_checkpoint: wrote {len(tensors)} tensors to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
