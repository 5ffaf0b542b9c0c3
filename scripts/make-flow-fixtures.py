#!/usr/bin/python3
"""Parity fixtures for src/flows: the reference block definitions, written in PyTorch from the
descriptions in docs/reference-implementation-digest.md (§3.2, §3.3, §4.2, §4.4), evaluated in
float64 on weights and inputs drawn with a seeded numpy generator.

Writes test/fixtures/flows/*.json; test/flows/parity.test.ts loads each case's weights into our
TypeScript blocks (through the save/load registry, so the names must match ours) and compares.

Run with Debian's python3 (the one that has torch):
    /usr/bin/python3 scripts/make-flow-fixtures.py

Layouts: weights are written in OUR layout and names (dense kernel [in, out], conv kernel
[kh, kw, in, out], spatial inputs NHWC) and converted to PyTorch's here. Every input and weight
is a float32 value, written as its shortest float32 decimal, so both sides see the same numbers.
"""
import json
import math
import os
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'flows')


# ----------------------------------------------------------------------------- reference blocks

class ActNorm(torch.nn.Module):
    """h = scale * (x + loc) per channel; data-dependent init on the first forward batch:
    loc = -mean, scale = 1 / (std + 1e-6) with torch's (unbiased) std. logdet = positions * sum log|scale|."""

    def __init__(self, channels):
        super().__init__()
        self.loc = torch.nn.Parameter(torch.zeros(channels))
        self.scale = torch.nn.Parameter(torch.ones(channels))
        self.register_buffer('initialized', torch.tensor(0.0))

    def _per_channel(self, x):
        # [B, C] or [B, C, H, W] -> [C, N]
        return x.transpose(0, 1).reshape(x.shape[1], -1)

    def _view(self, p, x):
        return p.view(1, -1, *([1] * (x.dim() - 2)))

    def forward(self, x):
        if self.initialized.item() == 0:
            flat = self._per_channel(x)
            with torch.no_grad():
                self.loc.copy_(-flat.mean(1))
                self.scale.copy_(1.0 / (flat.std(1) + 1e-6))
                self.initialized.fill_(1)
        positions = x[0, 0].numel()
        y = self._view(self.scale, x) * (x + self._view(self.loc, x))
        logdet = positions * torch.sum(torch.log(torch.abs(self.scale))) * torch.ones(x.shape[0])
        return y, logdet

    def reverse(self, y):
        return y / self._view(self.scale, y) - self._view(self.loc, y)


class Mlp(torch.nn.Module):
    """Linear(in, hidden) -> LReLU(0.01) -> [Linear(hidden, hidden) -> LReLU(0.01)] x depth -> Linear(hidden, out) [-> tanh]."""

    def __init__(self, dim_in, hidden, depth, dim_out, use_tanh):
        super().__init__()
        dims = [dim_in] + [hidden] * (depth + 1) + [dim_out]
        self.linears = torch.nn.ModuleList([torch.nn.Linear(dims[i], dims[i + 1]) for i in range(len(dims) - 1)])
        self.use_tanh = use_tanh

    def forward(self, x):
        for i, layer in enumerate(self.linears):
            x = layer(x)
            if i + 1 < len(self.linears):
                x = torch.nn.functional.leaky_relu(x, 0.01)
        return torch.tanh(x) if self.use_tanh else x


class DoubleCoupling(torch.nn.Module):
    """Two affine half-couplings, the second on swapped halves (digest §3.2), for even D:
    i=0: (xa, xb) = chunk(x); xb' = xb * exp(S0([xa, c])) + T0([xa, c]); x = [xa, xb']
    i=1: swap -> (xb', xa); xa' = xa * exp(S1([xb', c])) + T1([xb', c]); x = [xb', xa']."""

    def __init__(self, dim, cond, hidden, depth):
        super().__init__()
        half = dim // 2
        self.s = torch.nn.ModuleList([Mlp(half + cond, hidden, depth, half, True) for _ in range(2)])
        self.t = torch.nn.ModuleList([Mlp(half + cond, hidden, depth, half, False) for _ in range(2)])

    def _cat(self, h, c):
        return h if c is None else torch.cat([h, c], 1)

    def forward(self, x, c=None):
        logdet = torch.zeros(x.shape[0])
        for i in range(2):
            if i == 1:
                x = torch.cat(torch.chunk(x, 2, 1)[::-1], 1)
            xa, xb = torch.chunk(x, 2, 1)
            h = self._cat(xa, c)
            s = self.s[i](h)
            x = torch.cat([xa, xb * torch.exp(s) + self.t[i](h)], 1)
            logdet = logdet + s.sum(1)
        return x, logdet

    def reverse(self, y, c=None):
        x = y
        for i in (1, 0):
            if i == 0:
                x = torch.cat(torch.chunk(x, 2, 1)[::-1], 1)
            xa, xb = torch.chunk(x, 2, 1)
            h = self._cat(xa, c)
            x = torch.cat([xa, (xb - self.t[i](h)) * torch.exp(-self.s[i](h))], 1)
        return x


class Shuffle(torch.nn.Module):
    def __init__(self, perm):
        super().__init__()
        self.perm = torch.as_tensor(perm, dtype=torch.long)
        self.inverse_perm = torch.argsort(self.perm)

    def forward(self, x):
        return x[:, self.perm], torch.zeros(x.shape[0])

    def reverse(self, y):
        return y[:, self.inverse_perm]


def linspace_int(a, b, n):
    return [int(v) for v in np.linspace(a, b, n).astype(int)]


class DenseEmbedder(torch.nn.Module):
    """Widths np.linspace(in, E, depth).astype(int); Linear -> ActNorm -> LReLU(0.2) except the last Linear."""

    def __init__(self, dim_in, dim_out, depth):
        super().__init__()
        self.widths = linspace_int(dim_in, dim_out, depth)
        self.linears = torch.nn.ModuleList([torch.nn.Linear(self.widths[i], self.widths[i + 1]) for i in range(len(self.widths) - 1)])
        self.norms = torch.nn.ModuleList([ActNorm(w) for w in self.widths[1:-1]])

    def forward(self, z):
        h = z
        for i, layer in enumerate(self.linears):
            h = layer(h)
            if i < len(self.norms):
                h = torch.nn.functional.leaky_relu(self.norms[i](h)[0], 0.2)
        return h


class ConvEmbedder(torch.nn.Module):
    """n_down x [Conv k4 s2 p1 no bias -> ActNorm -> LReLU(0.2)], channels base*2^s capped; Conv(kernel = remaining) to E."""

    def __init__(self, size, channels, dim_out, n_down, base, cap):
        super().__init__()
        self.convs = torch.nn.ModuleList()
        self.norms = torch.nn.ModuleList()
        c_in = channels
        for s in range(n_down):
            c_out = min(base * 2 ** s, cap)
            self.convs.append(torch.nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False))
            self.norms.append(ActNorm(c_out))
            c_in = c_out
            size = (size + 2 - 4) // 2 + 1
        self.out = torch.nn.Conv2d(c_in, dim_out, size, 1, 0, bias=True)

    def forward(self, z_nchw):
        h = z_nchw
        for conv, norm in zip(self.convs, self.norms):
            h = torch.nn.functional.leaky_relu(norm(conv(h))[0], 0.2)
        return self.out(h).flatten(1)


class Cinn(torch.nn.Module):
    """t: the embedding computed once and fed to every [ActNorm, DoubleCoupling, Shuffle] block."""

    def __init__(self, embedder, blocks):
        super().__init__()
        self.embedder = embedder
        self.blocks = torch.nn.ModuleList([m for block in blocks for m in block])

    def forward(self, x, z):
        c = self.embedder(z)
        logdet = torch.zeros(x.shape[0])
        for m in self.blocks:
            x, ld = m(x, c) if isinstance(m, DoubleCoupling) else m(x)
            logdet = logdet + ld
        return x, logdet

    def reverse(self, v, z):
        c = self.embedder(z)
        for m in reversed(self.blocks):
            v = m.reverse(v, c) if isinstance(m, DoubleCoupling) else m.reverse(v)
        return v


def factor_loss(za, zb, logdet_a, logdet_b, factor, sizes, rho):
    """Digest §4.2: L1 + sum_F mean[0.5 |zb_F - m rho za_F|^2 / (1 - m rho^2)] - mean logdet_b."""
    l1 = torch.mean(0.5 * (za ** 2).sum(1)) - torch.mean(logdet_a)
    l2 = -torch.mean(logdet_b)
    start = 0
    for f, size in enumerate(sizes):
        m = (factor == f).to(za.dtype)[:, None]
        a = za[:, start:start + size]
        b = zb[:, start:start + size]
        nll = 0.5 * ((b - m * rho * a) ** 2).sum(1, keepdim=True) / (1 - m * rho ** 2)
        l2 = l2 + torch.mean(nll)
        start += size
    return l1 + l2


def factor_dims(za, zb, factor, n_factors):
    """Digest §4.4."""
    z = np.concatenate([za, zb], 0)
    var_total = np.sum(np.var(z, axis=0))
    scores = []
    for f in range(n_factors - 1):
        sel = factor == f
        m = 0.5 * (za[sel].mean(0) + zb[sel].mean(0))
        scores.append(float(np.sum(np.mean((za[sel] - m) * (zb[sel] - m), axis=0)) / var_total))
    scores.append(1.0)
    s = np.array(scores)
    w = np.exp(s - s.max())
    w = w / w.sum()
    sizes = [int(v * za.shape[1]) for v in w[:-1]]
    sizes.append(za.shape[1] - sum(sizes))
    return scores, [float(v) for v in w], sizes


# ----------------------------------------------------------------------------- weights and IO

class Weights:
    """Named float32 weights in our layout; `torch_of` gives the float64 torch tensor in torch's layout."""

    def __init__(self, rng):
        self.rng = rng
        self.entries = {}

    def add(self, name, array, trainable=True, dtype='float32'):
        self.entries[name] = (np.asarray(array, dtype=np.int32 if dtype == 'int32' else np.float32), trainable, dtype)
        return self.entries[name][0]

    def uniform(self, name, shape, bound):
        return self.add(name, self.rng.uniform(-bound, bound, size=shape))

    def json(self):
        out = []
        for name in sorted(self.entries):
            arr, trainable, dtype = self.entries[name]
            out.append({'name': name, 'shape': list(arr.shape), 'dtype': dtype, 'trainable': trainable, 'data': to_list(arr)})
        return out


def f32(x):
    """Shortest decimal that parses back to the same float32."""
    return float(repr(np.float32(x)))


def to_list(arr):
    arr = np.asarray(arr)
    if arr.dtype == np.int32 or arr.dtype == np.int64:
        return [int(v) for v in arr.reshape(-1)]
    if arr.dtype == np.float32:
        return [f32(v) for v in arr.reshape(-1)]
    return [float('%.12g' % v) for v in arr.reshape(-1)]


def tensor(arr):
    return torch.as_tensor(np.asarray(arr, dtype=np.float64))


def set_param(param, value):
    with torch.no_grad():
        param.copy_(tensor(value))


def fill_actnorm(norm, w, prefix, initialised, channels):
    if initialised:
        loc = w.add(prefix + 'loc', w.rng.normal(0, 0.5, channels))
        scale = w.add(prefix + 'scale', w.rng.uniform(0.5, 1.5, channels) * np.where(w.rng.uniform(size=channels) < 0.2, -1, 1))
    else:
        loc = w.add(prefix + 'loc', np.zeros(channels))
        scale = w.add(prefix + 'scale', np.ones(channels))
    w.add(prefix + 'initialized', [1.0 if initialised else 0.0], trainable=False)
    set_param(norm.loc, loc)
    set_param(norm.scale, scale)
    norm.initialized.fill_(1.0 if initialised else 0.0)


def fill_linear(linear, w, prefix):
    bound = 1 / math.sqrt(linear.in_features)
    kernel = w.uniform(prefix + 'kernel', (linear.in_features, linear.out_features), bound)
    bias = w.uniform(prefix + 'bias', (linear.out_features,), bound)
    set_param(linear.weight, kernel.T)
    set_param(linear.bias, bias)


def fill_mlp(mlp, w, prefix):
    for j, layer in enumerate(mlp.linears):
        fill_linear(layer, w, f'{prefix}layers.{j}.')


def fill_coupling(block, w, prefix):
    for i in range(2):
        fill_mlp(block.s[i], w, f'{prefix}s.{i}.')
        fill_mlp(block.t[i], w, f'{prefix}t.{i}.')


def fill_conv(conv, w, prefix):
    c_out, c_in, kh, kw = conv.weight.shape
    bound = 1 / math.sqrt(c_in * kh * kw)
    kernel = w.uniform(prefix + 'kernel', (kh, kw, c_in, c_out), bound)
    set_param(conv.weight, kernel.transpose(3, 2, 0, 1))
    if conv.bias is not None:
        set_param(conv.bias, w.uniform(prefix + 'bias', (c_out,), bound))


def data(rng, shape, offset=0.0, spread=1.0):
    return (offset + spread * rng.normal(size=shape)).astype(np.float32)


def write(name, payload):
    os.makedirs(OUT, exist_ok=True)
    payload = {'generator': 'scripts/make-flow-fixtures.py (PyTorch %s, float64)' % torch.__version__, **payload}
    path = os.path.join(OUT, name)
    with open(path, 'w') as fh:
        json.dump(payload, fh, separators=(',', ':'))
        fh.write('\n')
    print('wrote %s (%d bytes)' % (os.path.relpath(path), os.path.getsize(path)))


def np_out(t):
    return t.detach().numpy()


# ----------------------------------------------------------------------------- cases

def actnorm_cases(rng):
    cases = []
    for initialised in (True, False):
        w = Weights(rng)
        norm = ActNorm(5)
        fill_actnorm(norm, w, '', initialised, 5)
        x = data(rng, (4, 5), 1.0, 2.0)
        y_in = data(rng, (4, 5))
        y, logdet = norm(tensor(x))
        cases.append({
            'name': 'initialised' if initialised else 'data-dependent init on the first batch',
            'className': 'ActNorm', 'config': {'dim': 5}, 'weights': w.json(),
            'x': to_list(x), 'xShape': [4, 5],
            'forward': {'output': to_list(np_out(y)), 'logDet': to_list(np_out(logdet))},
            'y': to_list(y_in),
            'inverse': {'output': to_list(np_out(norm.reverse(tensor(y_in))))},
            'after': {'loc': to_list(np_out(norm.loc)), 'scale': to_list(np_out(norm.scale))},
        })
    write('actnorm.json', {'cases': cases})


def coupling_cases(rng):
    cases = []
    for cond in (3, 0):
        w = Weights(rng)
        block = DoubleCoupling(6, cond, 5, 2)
        fill_coupling(block, w, '')
        x = data(rng, (3, 6))
        c = data(rng, (3, cond)) if cond else None
        y_in = data(rng, (3, 6))
        ct = tensor(c) if cond else None
        y, logdet = block(tensor(x), ct)
        cases.append({
            'name': 'conditional' if cond else 'unconditional',
            'className': 'DoubleAffineCoupling', 'config': {'dim': 6, 'conditionDim': cond, 'hiddenWidth': 5, 'hiddenDepth': 2},
            'weights': w.json(),
            'x': to_list(x), 'xShape': [3, 6],
            'condition': to_list(c) if cond else None, 'conditionShape': [3, cond] if cond else None,
            'forward': {'output': to_list(np_out(y)), 'logDet': to_list(np_out(logdet))},
            'y': to_list(y_in),
            'inverse': {'output': to_list(np_out(block.reverse(tensor(y_in), ct)))},
        })
    write('coupling.json', {'cases': cases})


def shuffle_cases(rng):
    w = Weights(rng)
    perm = rng.permutation(7)
    w.add('permutation', perm, trainable=False, dtype='int32')
    block = Shuffle(perm)
    x = data(rng, (2, 7))
    y, logdet = block(tensor(x))
    y_in = data(rng, (2, 7))
    write('shuffle.json', {'cases': [{
        'name': 'seeded permutation', 'className': 'Shuffle', 'config': {'dim': 7}, 'weights': w.json(),
        'x': to_list(x), 'xShape': [2, 7],
        'forward': {'output': to_list(np_out(y)), 'logDet': to_list(np_out(logdet))},
        'y': to_list(y_in), 'inverse': {'output': to_list(np_out(block.reverse(tensor(y_in))))},
    }]})


def cinn_case(rng, name, spatial, initialised):
    dim, emb, hidden, depth, n_blocks = 4, 4, 6, 1, 2
    w = Weights(rng)
    if spatial:
        size, channels, n_down, base, cap = 6, 2, 1, 3, 8
        embedder = ConvEmbedder(size, channels, emb, n_down, base, cap)
        for s, (conv, norm) in enumerate(zip(embedder.convs, embedder.norms)):
            fill_conv(conv, w, f'embedder.stages.{s}.conv.')
            fill_actnorm(norm, w, f'embedder.stages.{s}.norm.', initialised, conv.out_channels)
        fill_conv(embedder.out, w, 'embedder.out.')
        condition_shape = [size, size, channels]
        embedder_config = {'kind': 'conv', 'depth': 4, 'numDown': n_down, 'baseChannels': base, 'maxChannels': cap}
    else:
        n_in, emb_depth = 5, 4
        embedder = DenseEmbedder(n_in, emb, emb_depth)
        for i, layer in enumerate(embedder.linears):
            fill_linear(layer, w, f'embedder.layers.{i}.')
        for i, norm in enumerate(embedder.norms):
            fill_actnorm(norm, w, f'embedder.norms.{i}.', initialised, embedder.widths[i + 1])
        condition_shape = [n_in]
        embedder_config = {'kind': 'dense', 'depth': emb_depth, 'numDown': None, 'baseChannels': 64, 'maxChannels': 1024}
    blocks = []
    for k in range(n_blocks):
        norm = ActNorm(dim)
        fill_actnorm(norm, w, f'flow.{3 * k}.', initialised, dim)
        coupling = DoubleCoupling(dim, emb, hidden, depth)
        fill_coupling(coupling, w, f'flow.{3 * k + 1}.')
        perm = rng.permutation(dim)
        w.add(f'flow.{3 * k + 2}.permutation', perm, trainable=False, dtype='int32')
        blocks.append([norm, coupling, Shuffle(perm)])
    model = Cinn(embedder, blocks)
    batch = 4
    x = data(rng, (batch, dim), 0.5, 1.5)
    z = data(rng, (batch, *condition_shape))
    z_t = tensor(z)
    if spatial:
        z_t = z_t.permute(0, 3, 1, 2)  # NHWC -> NCHW
    v, logdet = model(tensor(x), z_t)
    v_in = data(rng, (batch, dim))
    x_back = model.reverse(tensor(v_in), z_t)
    config = {
        'dim': dim, 'conditionShape': condition_shape, 'embeddingDim': emb, 'numBlocks': n_blocks,
        'hiddenWidth': hidden, 'hiddenDepth': depth, 'embedder': embedder_config, 'seed': 0,
    }
    return {
        'name': name, 'className': 'ConditionalINN', 'config': config, 'weights': w.json(),
        'x': to_list(x), 'xShape': [batch, dim],
        'condition': to_list(z), 'conditionShape': [batch, *condition_shape],
        'forward': {'output': to_list(np_out(v)), 'logDet': to_list(np_out(logdet)),
                    'loss': float(torch.mean(0.5 * (v ** 2).sum(1)) - torch.mean(logdet))},
        'y': to_list(v_in), 'inverse': {'output': to_list(np_out(x_back))},
        'after': {'flow.0.loc': to_list(np_out(blocks[0][0].loc)), 'flow.0.scale': to_list(np_out(blocks[0][0].scale))},
    }


def cinn_cases(rng):
    write('cinn.json', {'cases': [
        cinn_case(rng, '2 blocks, dense embedder, initialised', False, True),
        cinn_case(rng, '2 blocks, dense embedder, data-dependent init on the first batch', False, False),
        cinn_case(rng, '2 blocks, conv embedder, initialised', True, True),
        cinn_case(rng, '2 blocks, conv embedder, data-dependent init on the first batch', True, False),
    ]})


def factor_cases(rng):
    batch, sizes, rho = 5, [2, 2, 2], 0.975
    za = data(rng, (batch, 6))
    zb = data(rng, (batch, 6))
    la = data(rng, (batch,))
    lb = data(rng, (batch,))
    factor = np.array([0, 1, 0, -1, 1])
    loss = factor_loss(tensor(za), tensor(zb), tensor(la), tensor(lb), torch.as_tensor(factor), sizes, rho)
    pairs = 40
    shared = rng.normal(size=(pairs, 5))
    fa = data(rng, (pairs, 5))
    fb = data(rng, (pairs, 5))
    pf = np.array([p % 2 for p in range(pairs)])
    for p in range(pairs):  # factor 0 pairs share dims 0-1, factor 1 pairs dim 2
        dims = [0, 1] if pf[p] == 0 else [2]
        fa[p, dims] = (fa[p, dims] + 2 * shared[p, dims]).astype(np.float32)
        fb[p, dims] = (fb[p, dims] + 2 * shared[p, dims]).astype(np.float32)
    scores, weights, dim_sizes = factor_dims(fa.astype(np.float64), fb.astype(np.float64), pf, 3)
    write('factor.json', {
        'factorLoss': {
            'za': to_list(za), 'zb': to_list(zb), 'logDetA': to_list(la), 'logDetB': to_list(lb),
            'shape': [batch, 6], 'factorSizes': sizes, 'shared': [int(f) for f in factor], 'rho': rho, 'loss': float(loss),
        },
        'factorDims': {
            'za': to_list(fa), 'zb': to_list(fb), 'shape': [pairs, 5], 'factorOfPair': [int(f) for f in pf], 'numFactors': 3,
            'scores': scores, 'weights': weights, 'sizes': dim_sizes,
        },
    })


def main():
    if not hasattr(torch, 'nn'):
        sys.exit('this needs PyTorch: run it with /usr/bin/python3')
    rng = np.random.RandomState(20201)
    actnorm_cases(rng)
    coupling_cases(rng)
    shuffle_cases(rng)
    cinn_cases(rng)
    factor_cases(rng)


if __name__ == '__main__':
    main()
