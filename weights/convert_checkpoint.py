#!/usr/bin/env python3
"""Convert the authors' pretrained QM9 E-NF checkpoint to one safetensors file.

usage: convert_checkpoint.py CHECKPOINT_DIR OUT.safetensors [--facts qm9_facts.json]

CHECKPOINT_DIR holds flow.pt, dequantizer.pt, args.json and LICENSE (PyTorch >= 1.6 zip
archives). Only Python's standard library is used: zipfile for the archive and a restricted
unpickler that rebuilds each tensor as (storage key, offset, shape, stride) without torch.
The output holds every float tensor under its original name (as float32, sorted by name), and
in __metadata__ the model configuration, the training arguments, the weights' license and a
SHA-256 of the data section. The same inputs always give the same bytes.
"""
import array
import collections
import hashlib
import json
import math
import os
import pickle
import struct
import sys
import zipfile
import zlib


class CheckpointError(Exception):
    pass


class _TensorRef:
    def __init__(self, storage, offset, shape, stride):
        self.storage, self.offset, self.shape, self.stride = storage, offset, tuple(shape), tuple(stride)


def _rebuild_tensor(storage, offset, shape, stride, *_):
    return _TensorRef(storage, offset, shape, stride)


# Floating-point storages and their struct code; integer and bool storages (ActNorm's
# `initialized` flag) are not weights and are skipped.
_FLOAT_STORAGES = {"FloatStorage": "f", "DoubleStorage": "d", "HalfStorage": "e"}


class _Unpickler(pickle.Unpickler):
    """Resolves only what a state_dict needs; anything else is refused (no code runs)."""

    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch" and name.endswith("Storage"):
            return name  # the storage type, e.g. "FloatStorage"
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise CheckpointError(f"unexpected object {module}.{name} in the checkpoint")

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, numel)
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise CheckpointError(f"unexpected persistent id {pid!r}")
        return {"type": pid[1], "key": str(pid[2]), "numel": int(pid[4])}


def _float32_bytes(path, name, ref, raw):
    """Little-endian float32 bytes of one contiguous tensor, checked to be finite."""
    code = _FLOAT_STORAGES[ref.storage["type"]]
    width = struct.calcsize("<" + code)
    if len(raw) != width * ref.storage["numel"]:
        raise CheckpointError(f"{path}: storage of {name!r} has {len(raw)} bytes, expected "
                              f"{width * ref.storage['numel']} (truncated or corrupt)")
    numel = math.prod(ref.shape)
    if ref.offset < 0 or ref.offset + numel > ref.storage["numel"]:
        raise CheckpointError(f"{path}: tensor {name!r} runs past its storage")
    # Strides of a C-contiguous tensor; dimensions of size 1 may carry any stride.
    expected, acc = [], 1
    for s in reversed(ref.shape):
        expected.append(acc)
        acc *= s
    if any(st != ex for st, ex, s in zip(ref.stride, reversed(expected), ref.shape) if s > 1):
        raise CheckpointError(f"{path}: tensor {name!r} is not contiguous (stride {ref.stride})")
    values = struct.unpack_from(f"<{numel}{code}", raw, width * ref.offset)
    if not all(math.isfinite(v) for v in values):
        raise CheckpointError(f"{path}: tensor {name!r} holds NaN or Inf; the checkpoint is corrupt")
    out = array.array("f", values)
    if sys.byteorder != "little":
        out.byteswap()
    return out.tobytes()


def read_state_dict(path):
    """Returns {name: (shape, little-endian float32 bytes)} for the float tensors of a .pt file."""
    try:
        return _read_state_dict(path)
    except (zipfile.BadZipFile, zlib.error, UnicodeDecodeError, EOFError, struct.error) as e:
        raise CheckpointError(f"{path}: corrupt archive ({e})")


def _read_state_dict(path):
    if not os.path.exists(path):
        raise CheckpointError(f"{path} not found")
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as e:
        raise CheckpointError(f"{path}: not a PyTorch zip checkpoint ({e})")
    pkl = [n for n in archive.namelist() if n.endswith("/data.pkl")]
    if len(pkl) != 1:
        raise CheckpointError(f"{path}: expected one data.pkl in the archive, found {len(pkl)}")
    root = pkl[0][: -len("data.pkl")]
    try:
        with archive.open(pkl[0]) as f:
            state = _Unpickler(f).load()
    except (pickle.UnpicklingError, EOFError, AttributeError, TypeError, IndexError, ValueError, KeyError) as e:
        raise CheckpointError(f"{path}: data.pkl is corrupt ({e})")
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: data.pkl is not a state_dict")
    tensors = {}
    for name, ref in state.items():
        if not isinstance(ref, _TensorRef):
            raise CheckpointError(f"{path}: entry {name!r} is not a tensor")
        if ref.storage["type"] not in _FLOAT_STORAGES:
            continue  # e.g. ActNorm's `initialized` flag (int64)
        if name.endswith("int_time"):
            continue  # integration bounds [0, 1] (int_time, inv_int_time), fixed by the model definition
        try:
            raw = archive.read(root + "data/" + ref.storage["key"])
        except KeyError:
            raise CheckpointError(f"{path}: storage of {name!r} is missing from the archive")
        tensors[name] = (list(ref.shape), _float32_bytes(path, name, ref, raw))
    if not tensors:
        raise CheckpointError(f"{path}: no float tensors found")
    return tensors


def model_config(facts):
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


def _check_egnn(tensors, prefix, cfg, what):
    """The fixed configuration must describe the tensors actually present."""
    def shape(name):
        if prefix + name not in tensors:
            raise CheckpointError(f"{what}: tensor {prefix + name!r} is missing")
        return tensors[prefix + name][0]

    layers = {n[len(prefix):].split(".")[0] for n in tensors if n.startswith(prefix + "gcl_")}
    h = cfg["hidden"]
    edge_in = 2 * h + 1 + (1 if cfg["edge_attr"] else 0)
    found = {
        "n_layers": len(layers),
        "embedding": shape("embedding.weight"),
        "embedding_out": shape("embedding_out.weight"),
        "edge_mlp": shape("gcl_0.edge_mlp.0.weight"),
        "attention": prefix + "gcl_0.att_mlp.0.weight" in tensors,
    }
    want = {"n_layers": cfg["n_layers"], "embedding": [h, cfg["in_features"]],
            "embedding_out": [cfg["out_features"], h], "edge_mlp": [h, edge_in], "attention": cfg["attention"]}
    for key in want:
        if found[key] != want[key]:
            raise CheckpointError(f"{what}: {key} is {found[key]}, the converter's configuration says {want[key]}; "
                                  "this is not the QM9 E-NF checkpoint it was written for")


def check_against_config(tensors, config, args):
    _check_egnn(tensors, "transformations.1.odefunc.dynamics.egnn.", config["flow"], "flow.pt")
    _check_egnn(tensors, "net_fn.egnn.", config["dequantizer"], "dequantizer.pt")
    for name, shape in (("transformations.0.x_log_s", [1, 1]), ("transformations.0.h_t", [1, 6]),
                        ("transformations.0.h_log_s", [1, 6])):
        if name not in tensors or tensors[name][0] != shape:
            raise CheckpointError(f"flow.pt: ActNorm tensor {name!r} missing or not of shape {shape}")
    flow = config["flow"]
    expected_args = {"n_layers": flow["n_layers"], "nf": flow["hidden"], "attention": flow["attention"],
                     "tanh": flow["tanh"], "actnorm": flow["actnorm"], "condition_time": flow["condition_time"],
                     "x_aggregation": flow["aggregation"], "dequantization": config["dequantizer"]["kind"]}
    for key, value in expected_args.items():
        if args.get(key) != value:
            raise CheckpointError(f"args.json: {key} is {args.get(key)!r}, expected {value!r}")


def write_safetensors(path, tensors, metadata, with_digest=True):
    """tensors: {name: (dtype, shape, little-endian bytes)}, written sorted by name. With
    with_digest, the SHA-256 of the data section goes into the metadata (the reader checks it)."""
    header = {}
    offset = 0
    data = bytearray()
    for name in sorted(tensors):
        dtype, shape, raw = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        data += raw
        offset += len(raw)
    metadata = dict(metadata)
    if with_digest:
        metadata["sha256"] = hashlib.sha256(bytes(data)).hexdigest()
    header["__metadata__"] = metadata
    blob = json.dumps(header, separators=(",", ":"), sort_keys=True).encode("utf-8")
    blob += b" " * (-len(blob) % 8)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    # Write then rename, so an interrupted run never leaves a half-written file behind.
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        f.write(data)
    os.replace(tmp, path)


def _read_text(path, what):
    if not os.path.exists(path):
        raise CheckpointError(f"{path} not found ({what})")
    with open(path, encoding="utf-8") as f:
        return f.read()


def convert(src, out, facts_path):
    if facts_path is None:
        guess = os.path.join(src, "..", "..", "docs", "qm9_facts.json")
        if not os.path.exists(guess):
            raise CheckpointError(f"{guess} not found (it holds p(M), the atom-count histogram); pass --facts PATH")
        facts_path = guess
    try:
        facts = json.loads(_read_text(facts_path, "QM9 facts"))
        config = model_config(facts)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise CheckpointError(f"{facts_path}: not a valid qm9_facts.json ({e!r})")
    source_args = _read_text(os.path.join(src, "args.json"), "the training arguments")
    try:
        args = json.loads(source_args)
    except ValueError as e:
        raise CheckpointError(f"{os.path.join(src, 'args.json')}: not valid JSON ({e})")
    if not isinstance(args, dict):
        raise CheckpointError(f"{os.path.join(src, 'args.json')}: not a JSON object")
    # MIT requires the notice to travel with the weights: refuse to convert without it.
    license_text = _read_text(os.path.join(src, "LICENSE"), "the weights' license, which must travel with them")
    flow = read_state_dict(os.path.join(src, "flow.pt"))
    dequantizer = read_state_dict(os.path.join(src, "dequantizer.pt"))
    clash = sorted(set(flow) & set(dequantizer))
    if clash:
        raise CheckpointError(f"flow.pt and dequantizer.pt both hold {clash[0]!r}")
    tensors = {**flow, **dequantizer}
    check_against_config(tensors, config, args)
    metadata = {
        "format": "enf-wasm/1",
        "model": "qm9",
        "config": json.dumps(config, sort_keys=True),
        "source": source_args,
        "license": license_text,
    }
    write_safetensors(out, {name: ("F32", shape, raw) for name, (shape, raw) in tensors.items()}, metadata)
    return len(tensors)


def main(argv):
    args = list(argv)
    facts_path = None
    if "--facts" in args:
        i = args.index("--facts")
        if i + 1 >= len(args):
            print("convert_checkpoint: --facts needs a path", file=sys.stderr)
            return 2
        facts_path = args[i + 1]
        del args[i:i + 2]
    if len(args) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    src, out = args
    try:
        count = convert(src, out, facts_path)
    except (CheckpointError, OSError, UnicodeDecodeError, zipfile.BadZipFile, zlib.error, struct.error) as e:
        print(f"convert_checkpoint: {e}", file=sys.stderr)
        return 1
    print(f"convert_checkpoint: wrote {count} tensors to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
