#!/usr/bin/python3
"""PyTorch twin of bench/models.ts: the same five workloads, same shapes, Adam, float32.

(a)-(c) mirror the raw-op models of bench/models.ts; (d) and (e) rebuild our ConditionalINN t
(src/flows: ActNorm, DoubleAffineCoupling, Shuffle, ConvEmbedder) at the shipped ColorMNIST size.

Run by bench/run.ts with Debian's /usr/bin/python3 (python3-torch), one child process per round.
Prints exactly one JSON line on stdout; progress goes to stderr.

  torch_bench.py --probe                       versions, threads, BLAS in use, round-trip checks
  torch_bench.py --only a,b,c,d,e --steps 12 --warmup 3 [--cinn JSON]

--cinn takes bench/models.ts CINN_BENCH as JSON (run.ts always passes it); without it the
defaults below, which are the same values, apply.
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
# Idle OpenMP workers sleep instead of spinning, as in the tfjs torch backend (its loader sets the
# same before libtorch loads): spinning workers made this peer 5-20x slower on a busy shared
# machine. libgomp reads it when torch loads, so it must be set before the import.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

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


# ----------------------------------------------------------------------------------------------
# (d), (e) The conditional INN t (src/flows/cinn.ts) at the shipped ColorMNIST size.

# bench/models.ts CINN_BENCH; run.ts passes its values with --cinn.
CINN = {
    "dim": 64, "conditionShape": [4, 4, 128], "numBlocks": 8, "hiddenWidth": 128, "hiddenDepth": 1,
    "embeddingDim": 64, "numDown": None, "baseChannels": 64, "maxChannels": 1024,
    "batch": 64, "learningRate": 5e-4, "beta1": 0.5, "beta2": 0.9, "epsilon": 1e-8,
    "sampleConditions": 16, "samplesPerCondition": 16,
}

ACTNORM_EPS = 1e-6
COUPLING_SLOPE = 0.01
EMBEDDER_SLOPE = 0.2


class ActNorm(nn.Module):
    """h = scale * (x + loc) per channel (axis 1: [B, C] or NCHW); logdet = positions * sum log|scale|.
    Data-dependent init on the first forward batch with >= 2 values per channel: loc = -mean,
    scale = 1 / (unbiased std + 1e-6) (src/flows/actnorm.ts)."""

    def __init__(self, channels):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(channels))
        self.scale = nn.Parameter(torch.ones(channels))
        self.initialized = False

    def _view(self, p, x):
        return p.view(1, -1, *([1] * (x.dim() - 2)))

    def apply_norm(self, x):
        if not self.initialized:
            flat = x.detach().transpose(0, 1).reshape(x.shape[1], -1)
            if flat.shape[1] >= 2:
                with torch.no_grad():
                    self.loc.copy_(-flat.mean(1))
                    self.scale.copy_(1.0 / (flat.std(1) + ACTNORM_EPS))
                self.initialized = True
        return self._view(self.scale, x) * (x + self._view(self.loc, x))

    def forward(self, x):
        y = self.apply_norm(x)
        positions = x[0, 0].numel()
        return y, positions * torch.log(torch.abs(self.scale)).sum()

    def inverse(self, y):
        return y / self._view(self.scale, y) - self._view(self.loc, y)


class Mlp(nn.Module):
    """Linear -> LReLU(0.01) -> [Linear -> LReLU(0.01)] x depth -> Linear [-> tanh] (src/flows/layers.ts Mlp)."""

    def __init__(self, dim_in, hidden, depth, dim_out, use_tanh):
        super().__init__()
        dims = [dim_in] + [hidden] * (depth + 1) + [dim_out]
        self.linears = nn.ModuleList([nn.Linear(dims[i], dims[i + 1]) for i in range(len(dims) - 1)])
        self.use_tanh = use_tanh

    def forward(self, x):
        last = len(self.linears) - 1
        for i, layer in enumerate(self.linears):
            x = layer(x)
            if i < last:
                x = F.leaky_relu(x, COUPLING_SLOPE)
        return torch.tanh(x) if self.use_tanh else x


class DoubleAffineCoupling(nn.Module):
    """x = [a, b] (a: ceil(D/2)); b' = b*exp(S0([a,c])) + T0([a,c]); a' = a*exp(S1([b',c])) + T1([b',c]);
    y = [b', a'], logdet = sum s0 + sum s1 (src/flows/coupling.ts)."""

    def __init__(self, dim, cond, hidden, depth):
        super().__init__()
        self.size_a = (dim + 1) // 2
        self.size_b = dim - self.size_a
        a, b = self.size_a, self.size_b
        self.s = nn.ModuleList([Mlp(a + cond, hidden, depth, b, True), Mlp(b + cond, hidden, depth, a, True)])
        self.t = nn.ModuleList([Mlp(a + cond, hidden, depth, b, False), Mlp(b + cond, hidden, depth, a, False)])

    def forward(self, x, c):
        a, b = x.split([self.size_a, self.size_b], 1)
        h0 = torch.cat([a, c], 1)
        s0 = self.s[0](h0)
        b1 = b * torch.exp(s0) + self.t[0](h0)
        h1 = torch.cat([b1, c], 1)
        s1 = self.s[1](h1)
        a1 = a * torch.exp(s1) + self.t[1](h1)
        return torch.cat([b1, a1], 1), s0.sum(1) + s1.sum(1)

    def inverse(self, y, c):
        b1, a1 = y.split([self.size_b, self.size_a], 1)
        h1 = torch.cat([b1, c], 1)
        a = (a1 - self.t[1](h1)) * torch.exp(-self.s[1](h1))
        h0 = torch.cat([a, c], 1)
        b = (b1 - self.t[0](h0)) * torch.exp(-self.s[0](h0))
        return torch.cat([a, b], 1)


def auto_num_down(height, width):
    """src/flows/embedders.ts autoNumDown: the most stride-2 stages that leave >= 3x3."""
    n = 0
    while min(height, width) // 2 ** (n + 1) >= 3:
        n += 1
    return n


class ConvEmbedder(nn.Module):
    """num_down x [conv k4 s2 p1 without bias -> ActNorm -> LReLU(0.2)], channels base*2^s capped at
    max; then a conv with bias whose kernel is the remaining size -> [B, E] (src/flows/embedders.ts)."""

    def __init__(self, shape_hwc, dim_out, num_down, base, cap):
        super().__init__()
        height, width, c_in = shape_hwc
        self.num_down = auto_num_down(height, width) if num_down is None else num_down
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        size = (height, width)
        for s in range(self.num_down):
            c_out = min(base * 2 ** s, cap)
            self.convs.append(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False))
            self.norms.append(ActNorm(c_out))
            size = tuple((n + 2 - 4) // 2 + 1 for n in size)
            c_in = c_out
        self.out = nn.Conv2d(c_in, dim_out, size, 1, 0, bias=True)

    def forward(self, z_nchw):
        h = z_nchw
        for conv, norm in zip(self.convs, self.norms):
            h = F.leaky_relu(norm.apply_norm(conv(h)), EMBEDDER_SLOPE)
        return self.out(h).flatten(1)


class ConditionalINN(nn.Module):
    """t: embed z once, then numBlocks x [ActNorm -> DoubleAffineCoupling(c) -> fixed permutation]."""

    def __init__(self, cfg):
        super().__init__()
        dim = cfg["dim"]
        self.dim = dim
        self.embedder = ConvEmbedder(cfg["conditionShape"], cfg["embeddingDim"], cfg["numDown"],
                                     cfg["baseChannels"], cfg["maxChannels"])
        self.norms = nn.ModuleList()
        self.couplings = nn.ModuleList()
        for k in range(cfg["numBlocks"]):
            self.norms.append(ActNorm(dim))
            self.couplings.append(DoubleAffineCoupling(dim, cfg["embeddingDim"], cfg["hiddenWidth"], cfg["hiddenDepth"]))
            perm = torch.randperm(dim)
            self.register_buffer(f"perm{k}", perm)
            self.register_buffer(f"inv{k}", torch.argsort(perm))

    def forward(self, x, z):
        c = self.embedder(z)
        logdet = torch.zeros(x.shape[0])
        for k, (norm, coupling) in enumerate(zip(self.norms, self.couplings)):
            x, ld = norm(x)
            logdet = logdet + ld
            x, ld = coupling(x, c)
            logdet = logdet + ld
            x = x[:, getattr(self, f"perm{k}")]
        return x, logdet

    def inverse_embedded(self, v, c):
        for k in reversed(range(len(self.norms))):
            v = v[:, getattr(self, f"inv{k}")]
            v = self.couplings[k].inverse(v, c)
            v = self.norms[k].inverse(v)
        return v

    def inverse(self, v, z):
        return self.inverse_embedded(v, self.embedder(z))

    def sample(self, z, n):
        """n draws v ~ N(0, I) per condition; rows b*n .. b*n+n-1 belong to condition b (cinn.ts sample)."""
        c = self.embedder(z).repeat_interleave(n, 0)
        return self.inverse_embedded(torch.randn(c.shape[0], self.dim), c)


def nchw(shape_hwc):
    h, w, c = shape_hwc
    return (c, h, w)


def make_cinn_train():
    cfg = CINN
    t = ConditionalINN(cfg)
    zbar = torch.randn(cfg["batch"], cfg["dim"])
    z = torch.randn(cfg["batch"], *nchw(cfg["conditionShape"]))
    opt = torch.optim.Adam(t.parameters(), lr=cfg["learningRate"], betas=(cfg["beta1"], cfg["beta2"]), eps=cfg["epsilon"])

    def step():
        opt.zero_grad(set_to_none=True)
        v, logdet = t(zbar, z)
        loss = (0.5 * v.square().sum(1)).mean() - logdet.mean()
        loss.backward()
        opt.step()
        return loss.item()

    return step, sum(p.numel() for p in t.parameters())


def make_cinn_sample():
    cfg = CINN
    t = ConditionalINN(cfg)
    with torch.no_grad():  # initialise the ActNorms from one forward batch, as in a trained t
        t(torch.randn(cfg["batch"], cfg["dim"]), torch.randn(cfg["batch"], *nchw(cfg["conditionShape"])))
    z = torch.randn(cfg["sampleConditions"], *nchw(cfg["conditionShape"]))

    def step():
        with torch.no_grad():
            return float(t.sample(z, cfg["samplesPerCondition"])[0, 0])

    return step, sum(p.numel() for p in t.parameters())


def cinn_round_trip_error():
    cfg = CINN
    t = ConditionalINN(cfg)
    shape = nchw(cfg["conditionShape"])
    with torch.no_grad():
        t(0.5 + 1.5 * torch.randn(cfg["batch"], cfg["dim"]), torch.randn(cfg["batch"], *shape))
        x = torch.randn(8, cfg["dim"])
        z = torch.randn(8, *shape)
        v, _ = t(x, z)
        return float((t.inverse(v, z) - x).abs().max())


WORKLOADS = {"a": make_ae, "b": make_flow_train, "c": make_flow_inverse, "d": make_cinn_train, "e": make_cinn_sample}


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
    ap.add_argument("--only", default="a,b,c,d,e")
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cinn", help="t's configuration as JSON (bench/models.ts CINN_BENCH)")
    args = ap.parse_args()
    if args.cinn:
        given = json.loads(args.cinn)
        unknown = sorted(set(given) - set(CINN))
        if unknown:
            raise SystemExit(f"--cinn: unknown keys {unknown}")
        CINN.update(given)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out = {
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "threads": torch.get_num_threads(),
        "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    }
    if args.probe:
        out["blas"] = blas_info()
        out["flow_round_trip_error"] = flow_round_trip_error()
        out["cinn_round_trip_error"] = cinn_round_trip_error()
        print(json.dumps(out), flush=True)
        return

    out["results"] = {}
    out["params"] = {}
    for key in [k for k in args.only.split(",") if k]:
        if key not in WORKLOADS:
            raise SystemExit(f"unknown benchmark '{key}' (use {', '.join(WORKLOADS)})")
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
