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
// The backward recomputes the intermediates from the inputs (nothing is kept between calls) and
// applies the chain rule by hand: LeakyReLU's gradient is slope where z ≤ 0 (as TensorFlow.js),
// tanh's 1 − s².
#include "kernels.h"

#include <stdexcept>
#include <string>

namespace inntrospect {

namespace {

using at::Tensor;

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

/** One net's pass, keeping what its backward needs: each layer's input and pre-activation. */
struct Trace {
  std::vector<Tensor> inputs, pre;
  Tensor out;
};

Trace runNet(const Net& net, const Tensor& in, bool finalTanh, double slope) {
  Trace t;
  Tensor h = in;
  for (size_t l = 0; l < net.size(); l++) {
    Tensor z = at::addmm(net[l].bias, h, net[l].kernel);
    t.inputs.push_back(h);
    t.pre.push_back(z);
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
      dz = at::where(t.pre[l - 1] > 0, d, d * slope);
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

Tensor withCondition(const Tensor& h, const Tensor& c) {
  return c.size(1) == 0 ? h : at::cat({h, c}, 1);
}

struct ForwardPass {
  Tensor shifted, a, b, b1, e0, e1;
  Trace s0, t0, s1, t1;
  Tensor out, logDet;
};

ForwardPass forwardPass(const Tensor& x, const Tensor& c, const Params& p, const Spec& s) {
  ForwardPass f;
  f.shifted = x + p.loc;
  Tensor h = f.shifted * p.scale;
  f.a = h.narrow(1, 0, s.sizeA);
  f.b = h.narrow(1, s.sizeA, s.sizeB);
  Tensor h0 = withCondition(f.a, c);
  f.s0 = runNet(p.nets[0], h0, true, s.slope);
  f.t0 = runNet(p.nets[1], h0, false, s.slope);
  f.e0 = at::exp(f.s0.out);
  f.b1 = f.b * f.e0 + f.t0.out;
  Tensor h1 = withCondition(f.b1, c);
  f.s1 = runNet(p.nets[2], h1, true, s.slope);
  f.t1 = runNet(p.nets[3], h1, false, s.slope);
  f.e1 = at::exp(f.s1.out);
  Tensor a1 = f.a * f.e1 + f.t1.out;
  f.out = at::cat({f.b1, a1}, 1).index_select(1, s.perm);
  f.logDet = at::log(at::abs(p.scale)).sum() + f.s0.out.sum(1) + f.s1.out.sum(1);
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

Tensors couplingForward(const Tensors& in, const Attrs& a) {
  Checked b = readBlock(in, 0, a, "InntrospectCouplingForward");
  ForwardPass f = forwardPass(b.x, b.condition, b.params, b.spec);
  return Tensors{f.out.contiguous(), f.logDet.contiguous()};
}

Tensors couplingBackward(const Tensors& in, const Attrs& a) {
  const char* kernel = "InntrospectCouplingBackward";
  if (in.size() != 5) throw std::invalid_argument(where(kernel) + "expected [dOutput, dLogDet, x, condition, packed], got " + std::to_string(in.size()) + " inputs");
  Checked b = readBlock(in, 2, a, kernel);
  const Spec& s = b.spec;
  const int64_t n = b.x.size(0);
  checkMatrix(in[0], n, s.dim, "dOutput", kernel);
  if (!in[1].defined() || in[1].scalar_type() != at::kFloat || in[1].dim() != 1 || in[1].size(0) != n) {
    throw std::invalid_argument(where(kernel) + "dLogDet must be a float32 vector of " + std::to_string(n) + " values");
  }
  ForwardPass f = forwardPass(b.x, b.condition, b.params, s);
  const Params& p = b.params;
  const Tensor dy = in[0].index_select(1, s.inversePerm);  // the gradient of [b', a']
  const Tensor dld = in[1].unsqueeze(1);
  std::vector<Tensor> grads[4];

  // a' = a·e₁ + t₁ with s₁ = S₁([b', c]), t₁ = T₁([b', c]); log-det += Σ s₁
  const Tensor da1 = dy.narrow(1, s.sizeB, s.sizeA);
  Tensor da = da1 * f.e1;
  const Tensor ds1 = da1 * f.a * f.e1 + dld;
  Tensor dh1 = backNet(p.nets[2], f.s1, ds1, true, s.slope, grads[2]) + backNet(p.nets[3], f.t1, da1, false, s.slope, grads[3]);
  const Tensor db1 = dy.narrow(1, 0, s.sizeB) + dh1.narrow(1, 0, s.sizeB);
  Tensor dc = dh1.narrow(1, s.sizeB, s.conditionDim);

  // b' = b·e₀ + t₀ with s₀ = S₀([a, c]), t₀ = T₀([a, c]); log-det += Σ s₀
  const Tensor db = db1 * f.e0;
  const Tensor ds0 = db1 * f.b * f.e0 + dld;
  Tensor dh0 = backNet(p.nets[0], f.s0, ds0, true, s.slope, grads[0]) + backNet(p.nets[1], f.t0, db1, false, s.slope, grads[1]);
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
  const Tensor y = b.x.index_select(1, s.inversePerm);
  const Tensor b1 = y.narrow(1, 0, s.sizeB), a1 = y.narrow(1, s.sizeB, s.sizeA);
  const Tensor h1 = withCondition(b1, b.condition);
  const Tensor s1 = runNet(p.nets[2], h1, true, s.slope).out;
  const Tensor aa = (a1 - runNet(p.nets[3], h1, false, s.slope).out) * at::exp(-s1);
  const Tensor h0 = withCondition(aa, b.condition);
  const Tensor s0 = runNet(p.nets[0], h0, true, s.slope).out;
  const Tensor bb = (b1 - runNet(p.nets[1], h0, false, s.slope).out) * at::exp(-s0);
  const Tensor x = at::cat({aa, bb}, 1) / p.scale - p.loc;
  const Tensor logDet = -(at::log(at::abs(p.scale)).sum() + s0.sum(1) + s1.sum(1));
  return Tensors{x.contiguous(), logDet.contiguous()};
}

}  // namespace

void addCouplingKernels(std::map<std::string, KernelFn>& k) {
  k["InntrospectCouplingForward"] = couplingForward;
  k["InntrospectCouplingBackward"] = couplingBackward;
  k["InntrospectCouplingInverse"] = couplingInverse;
}

}  // namespace inntrospect
