// The fused flow block of src/flows/fused-block.ts — ActNorm → double affine coupling → Shuffle —
// as three kernels: InntrospectCouplingForward, InntrospectCouplingBackward (its registered
// gradient) and InntrospectCouplingInverse. One call each replaces the ≈ 60 (forward) and
// ≈ 150 (backward) TensorFlow.js kernels of one unfused block.
//
// Inputs: x [N, D], condition [N, C] (C = 0 for e), packed [P] (float32; the layout of
// fused-block.ts `blockLayout`: loc, scale, then nets S₀, T₀, S₁, T₁, each layer kernel [in, out]
// row-major then bias [out]). Backward also takes dOutput [N, D] and dLogDet [N] first.
// Attributes: dim, conditionDim, hiddenWidth, hiddenDepth, leakySlope, perm (D indices).
//
// Forward, with a = h[:, :⌈D/2⌉], b = h[:, ⌈D/2⌉:], h = (x + loc)·scale:
//   s₀ = S₀([a, c]), b' = b·exp(s₀) + T₀([a, c]); s₁ = S₁([b', c]), a' = a·exp(s₁) + T₁([b', c])
//   out[:, i] = [b', a'][:, perm[i]],  logDet = Σ log|scale| + Σ s₀ + Σ s₁
// With the attribute keepIntermediates the forward also returns what its backward needs (one flat
// float32 vector, see saveForward), and the backward takes it as a sixth input instead of running
// the forward again; without it the forward returns an empty third output and the backward
// recomputes. The chain rule is applied by hand: LeakyReLU's gradient is slope where z ≤ 0 (as
// TensorFlow.js), tanh's 1 − s².
//
// The scale and shift nets of one half read the same input and are independent, so they run on
// two threads (at::parallel_for; one where libtorch has one); each net is computed by one thread
// with the same operations as serially, so the results do not depend on the thread count. The
// row-wise passes (inverse, forward outside a tape) split the batch in two fixed halves instead.
// OpenBLAS runs single-threaded (docs/engine.md): without this the second core idles through
// these small GEMMs, as it does in PyTorch's eager mode.
#include "kernels.h"

#include <ATen/Parallel.h>

#include <stdexcept>
#include <string>

namespace inntrospect {

namespace {

using at::Tensor;

/** Runs body(0) and body(1) concurrently where libtorch has a second thread (serially inside another parallel region). */
template <typename Body>
void inPair(const Body& body) {
  at::parallel_for(0, 2, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) body(i);
  });
}

struct Spec {
  int64_t dim, conditionDim, hiddenWidth, hiddenDepth, sizeA, sizeB;
  double slope;
  Tensor perm, inversePerm;  // int64 indices
};

std::string where(const char* kernel) { return std::string(kernel) + ": "; }

Spec readSpec(const Attrs& a, const char* kernel) {
  Spec s{};
  s.dim = a.integer("dim");
  s.conditionDim = a.integer("conditionDim");
  s.hiddenWidth = a.integer("hiddenWidth");
  s.hiddenDepth = a.integer("hiddenDepth");
  s.slope = a.num("leakySlope");
  if (!(s.slope >= 0)) throw std::invalid_argument(where(kernel) + "needs leakySlope ≥ 0 (the backward reads LeakyReLU's gradient off the activations' sign), got " + std::to_string(s.slope));
  if (s.dim < 2 || s.conditionDim < 0 || s.hiddenWidth < 1 || s.hiddenDepth < 0) {
    throw std::invalid_argument(where(kernel) + "needs dim ≥ 2, conditionDim ≥ 0, hiddenWidth ≥ 1, hiddenDepth ≥ 0, got " +
                                std::to_string(s.dim) + ", " + std::to_string(s.conditionDim) + ", " +
                                std::to_string(s.hiddenWidth) + ", " + std::to_string(s.hiddenDepth));
  }
  s.sizeA = (s.dim + 1) / 2;
  s.sizeB = s.dim - s.sizeA;
  std::vector<int64_t> perm = a.ints("perm");
  if (static_cast<int64_t>(perm.size()) != s.dim) {
    throw std::invalid_argument(where(kernel) + "perm has " + std::to_string(perm.size()) + " entries for dim " + std::to_string(s.dim));
  }
  std::vector<int64_t> inverse(perm.size(), -1);
  for (size_t i = 0; i < perm.size(); i++) {
    const int64_t p = perm[i];
    if (p < 0 || p >= s.dim || inverse[p] != -1) throw std::invalid_argument(where(kernel) + "perm is not a permutation of 0.." + std::to_string(s.dim - 1));
    inverse[p] = static_cast<int64_t>(i);
  }
  s.perm = at::tensor(perm, at::kLong);
  s.inversePerm = at::tensor(inverse, at::kLong);
  return s;
}

void checkMatrix(const Tensor& t, int64_t rows, int64_t cols, const char* what, const char* kernel) {
  if (!t.defined()) throw std::invalid_argument(where(kernel) + what + " is missing");
  if (t.scalar_type() != at::kFloat) throw std::invalid_argument(where(kernel) + what + " must be float32");
  if (t.dim() != 2 || (rows >= 0 && t.size(0) != rows) || t.size(1) != cols) {
    throw std::invalid_argument(where(kernel) + what + " has shape " + c10::str(t.sizes()) + ", expected [" +
                                (rows >= 0 ? std::to_string(rows) : std::string("N")) + ", " + std::to_string(cols) + "]");
  }
}

struct Layer {
  Tensor kernel, bias;
};
using Net = std::vector<Layer>;

struct Params {
  Tensor loc, scale;
  Net nets[4];  // S₀, T₀, S₁, T₁
};

Params unpack(const Tensor& packedIn, const Spec& s, const char* kernel) {
  if (!packedIn.defined() || packedIn.scalar_type() != at::kFloat || packedIn.dim() != 1) {
    throw std::invalid_argument(where(kernel) + "packed weights must be a float32 vector");
  }
  const Tensor packed = packedIn.contiguous();
  const int64_t layers = s.hiddenDepth + 2;
  int64_t expected = 2 * s.dim;
  for (int n = 0; n < 4; n++) {
    const int64_t in = (n < 2 ? s.sizeA : s.sizeB) + s.conditionDim, out = n < 2 ? s.sizeB : s.sizeA;
    for (int64_t l = 0; l < layers; l++) {
      const int64_t i = l == 0 ? in : s.hiddenWidth, o = l == layers - 1 ? out : s.hiddenWidth;
      expected += i * o + o;
    }
  }
  if (packed.numel() != expected) {
    throw std::invalid_argument(where(kernel) + "packed weights hold " + std::to_string(packed.numel()) + " values, this block needs " + std::to_string(expected));
  }
  Params p;
  int64_t offset = 0;
  auto take = [&](at::IntArrayRef shape) {
    int64_t size = 1;
    for (int64_t d : shape) size *= d;
    Tensor t = packed.narrow(0, offset, size).view(shape);
    offset += size;
    return t;
  };
  p.loc = take({s.dim});
  p.scale = take({s.dim});
  for (int n = 0; n < 4; n++) {
    const int64_t in = (n < 2 ? s.sizeA : s.sizeB) + s.conditionDim, out = n < 2 ? s.sizeB : s.sizeA;
    for (int64_t l = 0; l < layers; l++) {
      const int64_t i = l == 0 ? in : s.hiddenWidth, o = l == layers - 1 ? out : s.hiddenWidth;
      Layer layer;
      layer.kernel = take({i, o});
      layer.bias = take({o});
      p.nets[n].push_back(layer);
    }
  }
  return p;
}

/**
 * One net's pass, keeping what its backward needs: each layer's input. After the first these are
 * the hidden activations, whose sign is LeakyReLU's gradient (slope ≥ 0: positive exactly where
 * the pre-activation is).
 */
struct Trace {
  std::vector<Tensor> inputs;
  Tensor out;
};

Trace runNet(const Net& net, const Tensor& in, bool finalTanh, double slope) {
  Trace t;
  Tensor h = in;
  for (size_t l = 0; l < net.size(); l++) {
    Tensor z = at::addmm(net[l].bias, h, net[l].kernel);
    t.inputs.push_back(h);
    h = l + 1 < net.size() ? at::leaky_relu(z, slope) : z;
  }
  t.out = finalTanh ? at::tanh(h) : h;
  return t;
}

/** Gradient of a net: dOut (w.r.t. its output) → input gradient; weight gradients into grads. */
Tensor backNet(const Net& net, const Trace& t, const Tensor& dOut, bool finalTanh, double slope, std::vector<Tensor>& grads) {
  Tensor dz = finalTanh ? dOut * (1 - t.out * t.out) : dOut;
  std::vector<Tensor> dKernel(net.size()), dBias(net.size());
  Tensor dIn;
  for (size_t l = net.size(); l-- > 0;) {
    dKernel[l] = t.inputs[l].t().mm(dz);
    dBias[l] = dz.sum(0);
    Tensor d = dz.mm(net[l].kernel.t());
    if (l > 0) {
      dz = at::where(t.inputs[l] > 0, d, d * slope);
    } else {
      dIn = d;
    }
  }
  for (size_t l = 0; l < net.size(); l++) {
    grads.push_back(dKernel[l].reshape({-1}));
    grads.push_back(dBias[l]);
  }
  return dIn;
}

/** The backward of one half's two nets, concurrently: the sum of their input gradients. */
Tensor backHalf(const Net& sNet, const Net& tNet, const Trace& s, const Trace& t, const Tensor& dS, const Tensor& dT, double slope,
                std::vector<Tensor>& sGrads, std::vector<Tensor>& tGrads) {
  Tensor dIn[2];
  inPair([&](int64_t i) {
    dIn[i] = i == 0 ? backNet(sNet, s, dS, true, slope, sGrads) : backNet(tNet, t, dT, false, slope, tGrads);
  });
  return dIn[0] + dIn[1];
}

Tensor withCondition(const Tensor& h, const Tensor& c) {
  return c.size(1) == 0 ? h : at::cat({h, c}, 1);
}

struct ForwardPass {
  Tensor shifted, a, b, b1, e0, e1;
  Trace s0, t0, s1, t1;
  Tensor out, logDet;
};

/** The two nets of one half on the same input, concurrently: [S, T]. */
void runHalf(const Net& sNet, const Net& tNet, const Tensor& in, double slope, Trace& s, Trace& t) {
  inPair([&](int64_t i) {
    if (i == 0) s = runNet(sNet, in, true, slope);
    else t = runNet(tNet, in, false, slope);
  });
}

ForwardPass forwardPass(const Tensor& x, const Tensor& c, const Params& p, const Spec& s) {
  ForwardPass f;
  f.shifted = x + p.loc;
  Tensor h = f.shifted * p.scale;
  f.a = h.narrow(1, 0, s.sizeA);
  f.b = h.narrow(1, s.sizeA, s.sizeB);
  runHalf(p.nets[0], p.nets[1], withCondition(f.a, c), s.slope, f.s0, f.t0);
  f.e0 = at::exp(f.s0.out);
  f.b1 = f.b * f.e0 + f.t0.out;
  runHalf(p.nets[2], p.nets[3], withCondition(f.b1, c), s.slope, f.s1, f.t1);
  f.e1 = at::exp(f.s1.out);
  Tensor a1 = f.a * f.e1 + f.t1.out;
  f.out = at::cat({f.b1, a1}, 1).index_select(1, s.perm);
  f.logDet = at::log(at::abs(p.scale)).sum() + f.s0.out.sum(1) + f.s1.out.sum(1);
  return f;
}

// What the backward reads of a forward pass and cannot get cheaply from the inputs: x + loc, b',
// every hidden activation of the four nets and the two scale nets' tanh outputs. The rest (a, b,
// the exps, the nets' first inputs [a, c] and [b', c]) is one element-wise op away and is rebuilt.
int64_t savedSize(const Spec& s, int64_t n) {
  return n * (s.dim + s.sizeB + 4 * (s.hiddenDepth + 1) * s.hiddenWidth + s.sizeB + s.sizeA);
}

Tensor saveForward(const ForwardPass& f) {
  std::vector<Tensor> pieces{f.shifted.reshape({-1}), f.b1.reshape({-1})};
  for (const Trace* t : {&f.s0, &f.t0, &f.s1, &f.t1}) {
    for (size_t l = 1; l < t->inputs.size(); l++) pieces.push_back(t->inputs[l].reshape({-1}));
  }
  pieces.push_back(f.s0.out.reshape({-1}));
  pieces.push_back(f.s1.out.reshape({-1}));
  return at::cat(pieces, 0);
}

ForwardPass restoreForward(const Tensor& savedIn, const Tensor& c, const Params& p, const Spec& s, int64_t n, const char* kernel) {
  if (savedIn.scalar_type() != at::kFloat || savedIn.dim() != 1 || savedIn.numel() != savedSize(s, n)) {
    throw std::invalid_argument(where(kernel) + "saved intermediates hold " + std::to_string(savedIn.numel()) + " values, this block at batch " +
                                std::to_string(n) + " needs " + std::to_string(savedSize(s, n)));
  }
  const Tensor saved = savedIn.contiguous();
  int64_t offset = 0;
  auto take = [&](int64_t cols) {
    Tensor t = saved.narrow(0, offset, n * cols).view({n, cols});
    offset += n * cols;
    return t;
  };
  ForwardPass f;
  f.shifted = take(s.dim);
  f.b1 = take(s.sizeB);
  Trace* traces[4] = {&f.s0, &f.t0, &f.s1, &f.t1};
  std::vector<Tensor> hidden[4];
  for (int k = 0; k < 4; k++) {
    for (int64_t l = 0; l <= s.hiddenDepth; l++) hidden[k].push_back(take(s.hiddenWidth));
  }
  f.s0.out = take(s.sizeB);
  f.s1.out = take(s.sizeA);
  const Tensor h = f.shifted * p.scale;
  f.a = h.narrow(1, 0, s.sizeA);
  f.b = h.narrow(1, s.sizeA, s.sizeB);
  f.e0 = at::exp(f.s0.out);
  f.e1 = at::exp(f.s1.out);
  const Tensor h0 = withCondition(f.a, c), h1 = withCondition(f.b1, c);
  for (int k = 0; k < 4; k++) {
    Trace& t = *traces[k];
    t.inputs.push_back(k < 2 ? h0 : h1);
    t.inputs.insert(t.inputs.end(), hidden[k].begin(), hidden[k].end());
  }
  return f;
}

struct Checked {
  Spec spec;
  Params params;
  Tensor x, condition;
};

/** Reads and checks [x, condition, packed] starting at `first`. */
Checked readBlock(const Tensors& in, size_t first, const Attrs& a, const char* kernel) {
  if (in.size() != first + 3) {
    throw std::invalid_argument(where(kernel) + "expected " + std::to_string(first + 3) + " inputs, got " + std::to_string(in.size()));
  }
  Checked r{readSpec(a, kernel), {}, {}, {}};
  checkMatrix(in[first], -1, r.spec.dim, "x", kernel);
  const int64_t n = in[first].size(0);
  checkMatrix(in[first + 1], n, r.spec.conditionDim, "condition", kernel);
  r.params = unpack(in[first + 2], r.spec, kernel);
  r.x = in[first].contiguous();
  r.condition = in[first + 1].contiguous();
  return r;
}

/**
 * A row-wise pass (the forward outside a tape, the inverse: no row reads another) on the two
 * halves of the batch concurrently, which also splits the element-wise work that the nets'
 * pairing leaves on one thread. The halves are ⌈N/2⌉ and the rest whatever the thread count, so
 * the result does not depend on it. `rows` returns [output, logDet] for its rows.
 */
template <typename Rows>
Tensors byRowHalves(const Tensor& x, const Tensor& c, const Rows& rows) {
  const int64_t n = x.size(0);
  if (n < 2) return rows(x, c);
  const int64_t first = (n + 1) / 2;
  Tensors parts[2];
  inPair([&](int64_t i) {
    const int64_t start = i == 0 ? 0 : first, count = i == 0 ? first : n - first;
    parts[i] = rows(x.narrow(0, start, count), c.narrow(0, start, count));
  });
  return Tensors{at::cat({parts[0][0], parts[1][0]}, 0), at::cat({parts[0][1], parts[1][1]}, 0)};
}

Tensors couplingForward(const Tensors& in, const Attrs& a) {
  Checked b = readBlock(in, 0, a, "InntrospectCouplingForward");
  if (a.has("keepIntermediates") && a.flag("keepIntermediates")) {
    ForwardPass f = forwardPass(b.x, b.condition, b.params, b.spec);
    return Tensors{f.out.contiguous(), f.logDet.contiguous(), saveForward(f)};
  }
  Tensors out = byRowHalves(b.x, b.condition, [&](const Tensor& x, const Tensor& c) {
    ForwardPass f = forwardPass(x, c, b.params, b.spec);
    return Tensors{f.out, f.logDet};
  });
  return Tensors{out[0].contiguous(), out[1].contiguous(), at::empty({0}, at::kFloat)};
}

Tensors couplingBackward(const Tensors& in, const Attrs& a) {
  const char* kernel = "InntrospectCouplingBackward";
  if (in.size() != 5 && in.size() != 6) {
    throw std::invalid_argument(where(kernel) + "expected [dOutput, dLogDet, x, condition, packed] and optionally the forward's saved intermediates, got " +
                                std::to_string(in.size()) + " inputs");
  }
  const bool restored = in.size() == 6 && in[5].defined() && in[5].numel() > 0;
  Checked b = readBlock(Tensors(in.begin(), in.begin() + 5), 2, a, kernel);
  const Spec& s = b.spec;
  const int64_t n = b.x.size(0);
  checkMatrix(in[0], n, s.dim, "dOutput", kernel);
  if (!in[1].defined() || in[1].scalar_type() != at::kFloat || in[1].dim() != 1 || in[1].size(0) != n) {
    throw std::invalid_argument(where(kernel) + "dLogDet must be a float32 vector of " + std::to_string(n) + " values");
  }
  ForwardPass f = restored ? restoreForward(in[5], b.condition, b.params, s, n, kernel) : forwardPass(b.x, b.condition, b.params, s);
  const Params& p = b.params;
  const Tensor dy = in[0].index_select(1, s.inversePerm);  // the gradient of [b', a']
  const Tensor dld = in[1].unsqueeze(1);
  std::vector<Tensor> grads[4];

  // a' = a·e₁ + t₁ with s₁ = S₁([b', c]), t₁ = T₁([b', c]); log-det += Σ s₁
  const Tensor da1 = dy.narrow(1, s.sizeB, s.sizeA);
  Tensor da = da1 * f.e1;
  const Tensor ds1 = da1 * f.a * f.e1 + dld;
  Tensor dh1 = backHalf(p.nets[2], p.nets[3], f.s1, f.t1, ds1, da1, s.slope, grads[2], grads[3]);
  const Tensor db1 = dy.narrow(1, 0, s.sizeB) + dh1.narrow(1, 0, s.sizeB);
  Tensor dc = dh1.narrow(1, s.sizeB, s.conditionDim);

  // b' = b·e₀ + t₀ with s₀ = S₀([a, c]), t₀ = T₀([a, c]); log-det += Σ s₀
  const Tensor db = db1 * f.e0;
  const Tensor ds0 = db1 * f.b * f.e0 + dld;
  Tensor dh0 = backHalf(p.nets[0], p.nets[1], f.s0, f.t0, ds0, db1, s.slope, grads[0], grads[1]);
  da = da + dh0.narrow(1, 0, s.sizeA);
  dc = dc + dh0.narrow(1, s.sizeA, s.conditionDim);

  // h = (x + loc)·scale; log-det += Σ log|scale|
  const Tensor dh = at::cat({da, db}, 1);
  const Tensor dx = dh * p.scale;
  const Tensor dLoc = dx.sum(0);
  const Tensor dScale = (dh * f.shifted).sum(0) + in[1].sum() / p.scale;
  std::vector<Tensor> pieces{dLoc, dScale};
  for (auto& g : grads) pieces.insert(pieces.end(), g.begin(), g.end());
  return Tensors{dx.contiguous(), dc.contiguous(), at::cat(pieces, 0)};
}

Tensors couplingInverse(const Tensors& in, const Attrs& a) {
  Checked b = readBlock(in, 0, a, "InntrospectCouplingInverse");
  const Spec& s = b.spec;
  const Params& p = b.params;
  Tensors out = byRowHalves(b.x, b.condition, [&](const Tensor& rowsY, const Tensor& c) {
    const Tensor y = rowsY.index_select(1, s.inversePerm);
    const Tensor b1 = y.narrow(1, 0, s.sizeB), a1 = y.narrow(1, s.sizeB, s.sizeA);
    Trace s1, t1, s0, t0;
    runHalf(p.nets[2], p.nets[3], withCondition(b1, c), s.slope, s1, t1);
    const Tensor aa = (a1 - t1.out) * at::exp(-s1.out);
    runHalf(p.nets[0], p.nets[1], withCondition(aa, c), s.slope, s0, t0);
    const Tensor bb = (b1 - t0.out) * at::exp(-s0.out);
    const Tensor x = at::cat({aa, bb}, 1) / p.scale - p.loc;
    const Tensor logDet = -(at::log(at::abs(p.scale)).sum() + s0.out.sum(1) + s1.out.sum(1));
    return Tensors{x, logDet};
  });
  return Tensors{out[0].contiguous(), out[1].contiguous()};
}

}  // namespace

void addCouplingKernels(std::map<std::string, KernelFn>& k) {
  k["InntrospectCouplingForward"] = couplingForward;
  k["InntrospectCouplingBackward"] = couplingBackward;
  k["InntrospectCouplingInverse"] = couplingInverse;
}

}  // namespace inntrospect
