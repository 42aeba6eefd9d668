"""The QM9 dynamics phi(t, state) in PyTorch eager, written from docs/MODEL_SPEC.md in the style of
the reference (an edge list, index gathers, scatter-add sums), as the peer bench/runtimes.mjs times
our runtimes against, and the graph it exports to ONNX for onnxruntime-web.

Before anything is timed it checks itself against the golden dynamics (float64, every case), so
the comparison is between implementations of the same function.

  /usr/bin/python3 bench/peers/torch_dynamics.py SHARED_DIR check
  /usr/bin/python3 bench/peers/torch_dynamics.py SHARED_DIR export OUT.onnx  (float32, 19 atoms)
  /usr/bin/python3 bench/peers/torch_dynamics.py SHARED_DIR time REPS       (prints one JSON line)

Bench-only: the package and its tests never need Python or PyTorch (Debian: python3-torch).
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

PREFIX = "transformations.1.odefunc.dynamics.egnn."
LAYERS = 6
COORD_RANGE = 15.0 / LAYERS


class Dynamics(torch.nn.Module):
    def __init__(self, state_dict, n_atoms, dtype):
        super().__init__()
        for key, value in state_dict.items():
            if key.startswith(PREFIX) and value.is_floating_point():
                self.register_buffer(key[len(PREFIX):].replace(".", "_"), value.to(dtype))
        # Every ordered pair i != j; sums over j land on i (the reference's unsorted_segment_sum).
        rows, cols = zip(*[(i, j) for i in range(n_atoms) for j in range(n_atoms) if i != j])
        self.register_buffer("row", torch.tensor(rows))
        self.register_buffer("col", torch.tensor(cols))

    def lin(self, name, x):
        w = getattr(self, name.replace(".", "_") + "_weight")
        b = getattr(self, name.replace(".", "_") + "_bias", None)
        return F.linear(x, w, b)

    def segment_sum(self, data, n):
        index = self.row.unsqueeze(1).expand(-1, data.shape[1])
        return data.new_zeros(n, data.shape[1]).scatter_add(0, index, data)

    def forward(self, t, state):
        n = state.shape[0]
        x0, h = state[:, :3], state[:, 3:]
        row, col = self.row, self.col
        h = self.lin("embedding", torch.cat([h, t.reshape(1, 1).expand(n, 1)], 1))
        edge_attr = ((x0[row] - x0[col]) ** 2).sum(1, keepdim=True)
        x = x0
        for layer in range(LAYERS):
            g = f"gcl_{layer}."
            diff = x[row] - x[col]
            r = (diff**2).sum(1, keepdim=True)
            direction = diff / (torch.sqrt(r + 1e-8) + 1)
            m = F.silu(self.lin(g + "edge_mlp.0", torch.cat([h[row], h[col], r, edge_attr], 1)))
            m = F.silu(self.lin(g + "edge_mlp.2", m))
            m = m * torch.sigmoid(self.lin(g + "att_mlp.0", m))
            head = COORD_RANGE * torch.tanh(self.lin(g + "coord_mlp.2", F.silu(self.lin(g + "coord_mlp.0", m))))
            x = x + self.segment_sum(direction * head, n)
            h = h + self.lin(g + "node_mlp.2", F.silu(self.lin(g + "node_mlp.0", torch.cat([h, self.segment_sum(m, n)], 1))))
        v = x - x0
        v = v - v.mean(0, keepdim=True)
        return torch.cat([v, self.lin("embedding_out", h)[:, :6]], 1)


def load(shared):
    return torch.load(os.path.join(shared, "weights", "en_flows_qm9", "flow.pt"), map_location="cpu")


def golden_cases(shared):
    with open(os.path.join(shared, "golden", "dynamics_public.json")) as f:
        return json.load(f)["cases"]


def case19(shared):
    return next(c for c in golden_cases(shared) if len(c["atoms"]) == 19 and c["t"] not in (0.0, 1.0))


def check(shared, sd):
    """Worst relative error against the golden phi over every case, in float64."""
    worst = 0.0
    for c in golden_cases(shared):
        state = torch.tensor(c["state"], dtype=torch.float64)
        want = torch.tensor(c["dstate_dt"], dtype=torch.float64)
        with torch.no_grad():
            got = Dynamics(sd, state.shape[0], torch.float64)(torch.tensor(c["t"], dtype=torch.float64), state)
        worst = max(worst, ((got - want).abs().max() / want.abs().max()).item())
    return worst


def main():
    shared, what = sys.argv[1], sys.argv[2]
    torch.set_num_threads(int(os.environ.get("ENF_TORCH_THREADS", "1")))
    sd = load(shared)
    worst = check(shared, sd)
    if worst > 1e-9:
        sys.exit(f"torch_dynamics: differs from the golden dynamics by {worst:.2e} (relative)")
    if what == "check":
        print(json.dumps({"golden_max_rel_error": worst}))
        return
    c = case19(shared)
    model = Dynamics(sd, 19, torch.float32).eval()
    t = torch.tensor(c["t"], dtype=torch.float32)
    state = torch.tensor(c["state"], dtype=torch.float32)
    if what == "export":
        torch.onnx.export(model, (t, state), sys.argv[3], input_names=["t", "state"], output_names=["dstate"],
                          opset_version=17)
        return
    reps = int(sys.argv[3])
    with torch.no_grad():
        for _ in range(20):
            out = model(t, state)
        ms = []
        for _ in range(reps):
            t0 = time.perf_counter()
            out = model(t, state)
            ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    want = torch.tensor(c["dstate_dt"], dtype=torch.float32)
    print(json.dumps({"runtime": "pytorch-eager", "version": torch.__version__, "threads": torch.get_num_threads(),
                      "median_ms": ms[len(ms) // 2], "min_ms": ms[0],
                      "max_rel_error": ((out - want).abs().max() / want.abs().max()).item(),
                      "golden_max_rel_error_f64": worst}))


if __name__ == "__main__":
    main()
