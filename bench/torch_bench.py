#!/usr/bin/python3
"""PyTorch twin of bench/models.ts: the same three workloads, same shapes, Adam, float32.

Run by bench/run.ts with Debian's /usr/bin/python3 (python3-torch), one child process per round.
Prints exactly one JSON line on stdout; progress goes to stderr.

  torch_bench.py --probe                       versions, threads, BLAS in use
  torch_bench.py --only a,b,c --steps 12 --warmup 3
"""
import argparse
import json
import statistics
import os
import sys
import time

# OpenMP (torch intra-op) and a threaded OpenBLAS together oversubscribe 2 cores; the parent sets
# this too, the default only covers a manual run.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

AE_BATCH = 64
FLOW_BATCH = 256
FLOW_DIM = 128
FLOW_COND = 128
FLOW_BLOCKS = 12
FLOW_HIDDEN = 512


def log(msg):
    print(f"[torch] {msg}", file=sys.stderr, flush=True)


def normal_(t, fan_in):
    # Same scale as bench/models.ts: N(0, 1/fan_in), biases zero.
    with torch.no_grad():
        t.normal_(0.0, fan_in ** -0.5)
    return t


def param(*shape, fan_in=None):
    t = torch.zeros(*shape, dtype=torch.float32)
    if fan_in is not None:
        normal_(t, fan_in)
    return t.requires_grad_(True)


# ----------------------------------------------------------------------------------------------
# (a) Convolutional autoencoder.

class ConvAE:
    enc = [3, 32, 64, 128, 256]
    dec = [256, 128, 64, 32, 3]

    def __init__(self):
        self.enc_w = [param(o, i, 3, 3, fan_in=9 * i) for i, o in zip(self.enc[:-1], self.enc[1:])]
        self.enc_b = [param(o) for o in self.enc[1:]]
        self.lat_w, self.lat_b = param(128, 1024, fan_in=1024), param(128)
        self.up_w, self.up_b = param(1024, 128, fan_in=128), param(1024)
        # ConvTranspose2d weights are (in, out, kh, kw).
        self.dec_w = [param(i, o, 3, 3, fan_in=9 * i) for i, o in zip(self.dec[:-1], self.dec[1:])]
        self.dec_b = [param(o) for o in self.dec[1:]]
        self.params = (self.enc_w + self.enc_b + [self.lat_w, self.lat_b, self.up_w, self.up_b]
                       + self.dec_w + self.dec_b)

    def __call__(self, x):
        h = x
        for w, b in zip(self.enc_w, self.enc_b):
            h = F.relu(F.conv2d(h, w, b, stride=2, padding=1))  # 32→16→8→4→2
        z = F.linear(h.reshape(x.shape[0], 1024), self.lat_w, self.lat_b)
        d = F.relu(F.linear(z, self.up_w, self.up_b)).reshape(x.shape[0], 256, 2, 2)
        last = len(self.dec_w) - 1
        for i, (w, b) in enumerate(zip(self.dec_w, self.dec_b)):
            d = F.conv_transpose2d(d, w, b, stride=2, padding=1, output_padding=1)  # 2→4→8→16→32
            d = torch.sigmoid(d) if i == last else F.relu(d)
        return d


def make_ae():
    model = ConvAE()
    images = torch.rand(AE_BATCH, 3, 32, 32)
    opt = torch.optim.Adam(model.params, lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(model(images), images)
        loss.backward()
        opt.step()
        return loss.item()

    return step, sum(p.numel() for p in model.params)


# ----------------------------------------------------------------------------------------------
# (b), (c) Conditional affine-coupling flow.

class Flow:
    def __init__(self):
        half = FLOW_DIM // 2
        self.blocks = []
        self.params = []
        for _ in range(FLOW_BLOCKS):
            blk = {
                "loc": param(FLOW_DIM),
                "logs": param(FLOW_DIM),
                "w1": param(FLOW_HIDDEN, half + FLOW_COND, fan_in=half + FLOW_COND), "b1": param(FLOW_HIDDEN),
                "w2": param(FLOW_HIDDEN, FLOW_HIDDEN, fan_in=FLOW_HIDDEN), "b2": param(FLOW_HIDDEN),
                "w3": param(FLOW_DIM, FLOW_HIDDEN, fan_in=FLOW_HIDDEN), "b3": param(FLOW_DIM),
            }
            self.params += list(blk.values())
            perm = torch.randperm(FLOW_DIM)
            blk["perm"] = perm
            blk["inv"] = torch.argsort(perm)
            self.blocks.append(blk)

    @staticmethod
    def coupling(blk, x1, cond):
        h = F.relu(F.linear(torch.cat([x1, cond], 1), blk["w1"], blk["b1"]))
        h = F.relu(F.linear(h, blk["w2"], blk["b2"]))
        s_raw, t = F.linear(h, blk["w3"], blk["b3"]).chunk(2, 1)
        return torch.tanh(s_raw), t

    def forward(self, x, cond):
        h = x
        logdet = torch.zeros(x.shape[0])
        for blk in self.blocks:
            h = (h + blk["loc"]) * torch.exp(blk["logs"])
            logdet = logdet + blk["logs"].sum()
            x1, x2 = h.chunk(2, 1)
            s, t = self.coupling(blk, x1, cond)
            logdet = logdet + s.sum(1)
            h = torch.cat([x1, x2 * torch.exp(s) + t], 1)[:, blk["perm"]]
        return h, logdet

    def inverse(self, v, cond):
        h = v
        for blk in reversed(self.blocks):
            x1, y2 = h[:, blk["inv"]].chunk(2, 1)
            s, t = self.coupling(blk, x1, cond)
            h = torch.cat([x1, (y2 - t) * torch.exp(-s)], 1)
            h = h * torch.exp(-blk["logs"]) - blk["loc"]
        return h


def make_flow_train():
    flow = Flow()
    x = torch.randn(FLOW_BATCH, FLOW_DIM)
    cond = torch.randn(FLOW_BATCH, FLOW_COND)
    opt = torch.optim.Adam(flow.params, lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        v, logdet = flow.forward(x, cond)
        loss = (0.5 * v.square().sum(1)).mean() - logdet.mean()
        loss.backward()
        opt.step()
        return loss.item()

    return step, sum(p.numel() for p in flow.params)


def make_flow_inverse():
    flow = Flow()
    v = torch.randn(FLOW_BATCH, FLOW_DIM)
    cond = torch.randn(FLOW_BATCH, FLOW_COND)

    def step():
        with torch.no_grad():
            return float(flow.inverse(v, cond)[0, 0])

    return step, sum(p.numel() for p in flow.params)


def flow_round_trip_error():
    flow = Flow()
    with torch.no_grad():
        for blk in flow.blocks:
            blk["loc"].normal_(0, 0.1)
            blk["logs"].normal_(0, 0.1)
        x = torch.randn(8, FLOW_DIM)
        cond = torch.randn(8, FLOW_COND)
        v, _ = flow.forward(x, cond)
        return float((flow.inverse(v, cond) - x).abs().max())


WORKLOADS = {"a": make_ae, "b": make_flow_train, "c": make_flow_inverse}


# ----------------------------------------------------------------------------------------------

def blas_info():
    """Which BLAS library the process actually mapped (Debian's torch reports BLAS_INFO=generic
    whatever libblas.so.3 the alternatives system points at)."""
    a = torch.randn(512, 512)
    a @ a  # make sure the BLAS is loaded and initialised
    libs = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                name = os.path.basename(path).lower()
                if ("blas" in name or "mkl" in name or "blis" in name) and path not in libs:
                    libs.append(path)
    except OSError:
        pass
    joined = " ".join(libs).lower()
    if "openblas" in joined:
        kind = "openblas"
    elif "mkl" in joined:
        kind = "mkl"
    elif "blis" in joined:
        kind = "blis"
    elif libs:
        kind = "reference"
    else:
        kind = "unknown"
    # A direct health check: OpenBLAS does ~70 GFLOP/s on one core here, reference BLAS a few.
    n = 512
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - t0)
    return {"kind": kind, "libs": libs, "gemm512_gflops": round(2 * n ** 3 / best / 1e9, 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--probe", action="store_true")
    ap.add_argument("--only", default="a,b,c")
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out = {
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "threads": torch.get_num_threads(),
        "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
    }
    if args.probe:
        out["blas"] = blas_info()
        out["flow_round_trip_error"] = flow_round_trip_error()
        print(json.dumps(out), flush=True)
        return

    out["results"] = {}
    out["params"] = {}
    for key in [k for k in args.only.split(",") if k]:
        if key not in WORKLOADS:
            raise SystemExit(f"unknown benchmark '{key}' (use a, b, c)")
        step, n_params = WORKLOADS[key]()
        out["params"][key] = n_params
        for _ in range(args.warmup):
            step()
        times = []
        for _ in range(args.steps):
            t0 = time.perf_counter()
            step()
            times.append((time.perf_counter() - t0) * 1000)
        out["results"][key] = times
        log(f"{key}: median {statistics.median(times):.1f} ms")
        del step
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
