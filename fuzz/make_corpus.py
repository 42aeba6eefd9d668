#!/usr/bin/env python3
"""Writes the seed corpus under fuzz/corpus/ (stdlib only, deterministic). The model seed is a
tiny QM9-shaped E-NF with random weights (hidden 4, one layer per network, at most 9 atoms), never
the QM9 checkpoint. Usage: python3 fuzz/make_corpus.py"""
import json
import os
import random
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "weights"))
from convert_checkpoint import write_safetensors  # noqa: E402  (the converters' writer)

CORPUS = os.path.join(HERE, "corpus")


def egnn_tensors(rng, prefix, layers, hidden, in_f, out_f, attention, edge_attr):
    shapes = {"embedding.weight": [hidden, in_f], "embedding.bias": [hidden],
              "embedding_out.weight": [out_f, hidden], "embedding_out.bias": [out_f]}
    for l in range(layers):
        g = f"gcl_{l}."
        shapes.update({g + "edge_mlp.0.weight": [hidden, 2 * hidden + 1 + (1 if edge_attr else 0)],
                       g + "edge_mlp.0.bias": [hidden],
                       g + "edge_mlp.2.weight": [hidden, hidden], g + "edge_mlp.2.bias": [hidden],
                       g + "coord_mlp.0.weight": [hidden, hidden], g + "coord_mlp.0.bias": [hidden],
                       g + "coord_mlp.2.weight": [1, hidden],
                       g + "node_mlp.0.weight": [hidden, 2 * hidden], g + "node_mlp.0.bias": [hidden],
                       g + "node_mlp.2.weight": [hidden, hidden], g + "node_mlp.2.bias": [hidden]})
        if attention:
            shapes.update({g + "att_mlp.0.weight": [1, hidden], g + "att_mlp.0.bias": [1]})
    out = {}
    for name, shape in shapes.items():
        n = 1
        for d in shape:
            n *= d
        bound = 1.0 / max(1, shape[-1]) ** 0.5
        out[prefix + name] = ("F32", shape, struct.pack(f"<{n}f", *(rng.uniform(-bound, bound) for _ in range(n))))
    return out


def tiny_model(path, seed=1, hidden=4, max_atoms=9, dtype_f64_actnorm=False, histogram=None, h_log_s=None):
    rng = random.Random(seed)
    tensors = {}
    tensors.update(egnn_tensors(rng, "transformations.1.odefunc.dynamics.egnn.", 1, hidden, 7, 7, True, True))
    tensors.update(egnn_tensors(rng, "net_fn.egnn.", 1, hidden, 6, 12, False, False))
    fmt, dt = ("<{}d", "F64") if dtype_f64_actnorm else ("<{}f", "F32")
    tensors["transformations.0.x_log_s"] = (dt, [1, 1], struct.pack(fmt.format(1), 0.1))
    tensors["transformations.0.h_t"] = (dt, [1, 6], struct.pack(fmt.format(6), *(rng.gauss(0, 0.1) for _ in range(6))))
    log_s = [rng.gauss(0, 0.1) for _ in range(6)] if h_log_s is None else [h_log_s] * 6
    tensors["transformations.0.h_log_s"] = (dt, [1, 6], struct.pack(fmt.format(6), *log_s))
    config = {"flow": {"n_layers": 1, "hidden": hidden, "in_features": 7, "out_features": 7, "attention": True,
                       "tanh": True, "coords_range": 15.0, "edge_attr": True, "aggregation": "sum",
                       "condition_time": True, "actnorm": True},
              "dequantizer": {"kind": "argmax_variational", "n_layers": 1, "hidden": hidden, "in_features": 6,
                              "out_features": 12, "attention": False, "tanh": False, "edge_attr": False},
              "atom_types": ["H", "C", "N", "O", "F"], "atomic_numbers": [1, 6, 7, 8, 9],
              "max_atoms": max_atoms,
              "n_atoms_histogram": {str(m): rng.randint(1, 50) for m in range(3, max_atoms + 1)}}
    if histogram is not None:
        config["n_atoms_histogram"] = histogram
    write_safetensors(path, tensors, {"format": "enf-wasm/1", "model": "qm9",
                                      "config": json.dumps(config, sort_keys=True)})


def particle_model(path, seed, system, n, dim, hidden=4, layers=1, config_override=None):
    """A particle E-NF as ParticleModel::to_safetensors writes it (node input = time alone)."""
    rng = random.Random(seed)
    tensors = egnn_tensors(rng, "dynamics.egnn.", layers, hidden, 1, 1, True, True)
    config = {"system": system, "n_particles": n, "dim": dim, "n_layers": layers, "hidden": hidden,
              "attention": True, "tanh": True, "coords_range": 15.0, "edge_attr": True}
    config.update(config_override or {})
    write_safetensors(path, tensors, {"model": "particle_enf", "config": json.dumps(config, sort_keys=True)})


def write(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def main():
    tiny_model(os.path.join(CORPUS, "model", "tiny.safetensors"))
    tiny_model(os.path.join(CORPUS, "model", "tiny_f64_actnorm.safetensors"), seed=2, hidden=3, max_atoms=5,
               dtype_f64_actnorm=True)

    # Regression seeds: inputs that once escaped as the wrong exception or read out of bounds
    # (tests/cpp/test_limits.cpp has the same cases). std::stoi read histogram keys.
    tiny_model(os.path.join(CORPUS, "model", "regression_histogram_key_out_of_range.safetensors"), seed=5, hidden=2,
               max_atoms=4, histogram={"3": 1, "99999999999": 1})
    tiny_model(os.path.join(CORPUS, "model", "regression_histogram_total_inf.safetensors"), seed=6, hidden=2,
               max_atoms=4, histogram={"3": 1e308, "4": 1e308})

    # ActNorm scale exp(80): decoded charges beyond int (cast unchecked).
    tiny_model(os.path.join(CORPUS, "model", "regression_actnorm_scale_huge.safetensors"), seed=7, hidden=2,
               max_atoms=4, h_log_s=80.0)

    pdir = os.path.join(CORPUS, "particle")
    particle_model(os.path.join(pdir, "dw4.safetensors"), 8, "dw4", 4, 2)
    particle_model(os.path.join(pdir, "lj13_two_layers.safetensors"), 9, "lj13", 13, 3, hidden=3, layers=2)
    # n_layers was cast from the JSON double to int unchecked (1e300: undefined behaviour).
    particle_model(os.path.join(pdir, "regression_n_layers_huge.safetensors"), 10, "dw4", 4, 2,
                   config_override={"n_layers": 1e300})

    water = "3\nwater\nO 0.0 0.0 0.117\nH 0.0 0.757 -0.469\nH 0.0 -0.757 -0.469\n"
    write("xyz", "water.xyz", water)
    write("xyz", "methane_numbers_crlf.xyz",
          "5\r\nmethane, atomic numbers\r\n6 0 0 0\r\n1 0.629 0.629 0.629\r\n1 -0.629 -0.629 0.629\r\n"
          "1 -0.629 0.629 -0.629\r\n1 0.629 -0.629 -0.629\r\n")
    write("xyz", "two_frames.xyz", water + "\n" + "2\nHF\nH 0 0 0\nf 0 0 0.92e0\n")
    write("xyz", "ethanol.xyz", "9\nethanol\nC -0.0010 1.5126 -0.0019\nC 0.0021 -0.0021 0.0036\n"
          "O 0.0014 -0.4066 1.3672\nH 1.0164 1.8818 -0.0096\nH -0.5097 1.8999 0.8843\nH -0.5164 1.8890 -0.8907\n"
          "H 0.5281 -0.3745 -0.8881\nH -1.0186 -0.3903 -0.0197\nH -0.8879 -0.1154 1.7142\n")

    write("json", "header.json", json.dumps({"a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
                                             "__metadata__": {"sha256": "00", "config": "{\"max_atoms\": 9}"}}))
    write("json", "escapes.json", r'["\u00e9\ud83d\ude00", "tab\t", -0.0, 1e-300, 12345678901234567890, true, null, {}]')
    write("json", "nested.json", "[[[[{\"k\": [1.5, -2e+3, {\"x\": false}]}]]]]")
    write("json", "utf8.json", "{\"\u00c5ngstr\u00f6m\": \"\u2713\"}")

    def row(n, rng):
        return [round(rng.uniform(-1, 1), 4) for _ in range(n)]
    rng = random.Random(3)
    dyn = {"cases": [{"t": 0.37, "state": [row(9, rng) for _ in range(3)], "dstate_dt": [row(9, rng) for _ in range(3)],
                      "dequantizer_input": {"x": [row(3, rng) for _ in range(3)],
                                            "h": [[1, 0, 0, 0, 0, 1], [0, 1, 0, 0, 0, 6], [1, 0, 0, 0, 0, 1]]},
                      "dequantizer_mu_logsigma": [row(12, rng) for _ in range(3)]}]}
    write("verify", "dynamics.json", json.dumps(dyn))
    flow = {"cases": [{"atoms": [8, 1, 1], "x_centered": [[0, 0, 0.117], [0, 0.757, -0.469], [0, -0.757, -0.469]],
                       "dequant_eps": [row(6, rng) for _ in range(3)], "h_lifted": [row(6, rng) for _ in range(3)],
                       "log_q_h": -3.0, "z": [row(9, rng) for _ in range(3)], "delta_logp": 1.0, "log_pz": -20.0,
                       "log_pN": -2.0, "log_p": -10.0}]}
    write("verify", "flow.json", json.dumps(flow))
    rev = {"cases": [{"z": [row(9, rng) for _ in range(3)], "x_h": [row(9, rng) for _ in range(3)],
                      "atom_types": [3, 0, 0]}]}
    write("verify", "reverse.json", json.dumps(rev))
    sampling = {"cases": [{"n_atoms": 3, "seed": 2, "x": [row(3, rng) for _ in range(3)], "atom_types": [3, 0, 0],
                           "latent_transform": {"rotation": [[0, 0, 1], [0, 1, 0], [-1, 0, 0]], "permutation": [2, 0, 1]}}]}
    write("verify", "sampling.json", json.dumps(sampling))

    # Regression seeds: golden cases whose matrices do not match the atom count (verify indexed
    # them unchecked) and an atomic number beyond int (cast to int unchecked).
    short_h = json.loads(json.dumps(dyn))
    short_h["cases"][0]["dequantizer_input"]["h"] = [[1, 0, 0, 0, 0, 1]]
    write("verify", "regression_short_dequantizer_h.json", json.dumps(short_h))
    short_eps = json.loads(json.dumps(flow))
    short_eps["cases"][0]["dequant_eps"] = [row(6, rng)]
    write("verify", "regression_short_dequant_eps.json", json.dumps(short_eps))
    huge_z = json.loads(json.dumps(flow))
    huge_z["cases"][0]["atoms"] = [1e300, 1, 1]
    write("verify", "regression_huge_atomic_number.json", json.dumps(huge_z))

    # FuzzedDataProvider targets: a few arbitrary byte strings to start from.
    brng = random.Random(4)
    for target in ("sdf", "bindings", "verify"):
        for k in range(4):
            write(target, f"random_{k}", bytes(brng.randrange(256) for _ in range(64 * (k + 1))))


if __name__ == "__main__":
    main()
