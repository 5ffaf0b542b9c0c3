// TensorFlow.js kernel semantics on ATen operators. See kernels.h for the calling convention.
//
// Convolutions and pools: TensorFlow.js gives NHWC activations and HWIO filters; ATen wants
// NCHW / OIHW. `x.permute({0,3,1,2})` of a contiguous NHWC tensor is a channels-last NCHW view
// (no copy), which oneDNN convolves directly and whose result permuted back is again
// contiguous NHWC. Paddings arrive explicit (top, bottom, left, right) from tfjs's own
// computeConv2DInfo/computePool2DInfo; when top≠bottom or left≠right (TensorFlow's 'same' puts
// the extra row at the bottom) the input is padded with constant_pad_nd first.
#include "kernels.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace inntrospect {

const Attr& Attrs::get(const std::string& key) const {
  auto it = values.find(key);
  if (it == values.end()) throw std::invalid_argument("missing kernel attribute '" + key + "'");
  return it->second;
}

std::vector<int64_t> Attrs::ints(const std::string& key) const {
  const auto& list = get(key).list;
  std::vector<int64_t> out(list.size());
  for (size_t i = 0; i < list.size(); i++) out[i] = static_cast<int64_t>(list[i]);
  return out;
}

at::ScalarType scalarTypeOf(const std::string& dtype) {
  if (dtype == "float32") return at::kFloat;
  if (dtype == "int32") return at::kInt;
  if (dtype == "bool") return at::kBool;
  throw std::invalid_argument("the torch backend stores float32, int32 and bool, not '" + dtype + "'");
}

std::string dtypeName(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return "float32";
    case at::kInt: return "int32";
    case at::kBool: return "bool";
    default: throw std::invalid_argument(std::string("no TensorFlow.js dtype for ") + c10::toString(type));
  }
}

at::Tensor toTfjsDtype(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat: case at::kInt: case at::kBool: return t;
    case at::kDouble: case at::kHalf: case at::kBFloat16: return t.to(at::kFloat);
    default: return t.to(at::kInt);  // int64 indices, uint8, int8, int16
  }
}

namespace {

using at::Tensor;
using Ints = std::vector<int64_t>;

Tensor toNCHW(const Tensor& x) { return x.permute({0, 3, 1, 2}); }
Tensor toNHWC(const Tensor& x) { return x.permute({0, 2, 3, 1}); }
/** HWIO → OIHW. */
Tensor filterToOIHW(const Tensor& w) { return w.permute({3, 2, 0, 1}); }
/** Depthwise [fh, fw, C, M] → grouped-conv weight [C·M, 1, fh, fw]. */
Tensor depthwiseToOIHW(const Tensor& w) {
  return w.permute({2, 3, 0, 1}).reshape({w.size(2) * w.size(3), 1, w.size(0), w.size(1)});
}

/** Explicit paddings of a conv or pool: pads = [top, bottom, left, right]. */
struct Geometry {
  Ints stride, dilation, pads;
  bool symmetric() const { return pads[0] == pads[1] && pads[2] == pads[3]; }
  Ints symmetricPadding() const { return symmetric() ? Ints{pads[0], pads[2]} : Ints{0, 0}; }
};

Geometry geometry(const Attrs& a) {
  Geometry g{a.ints("strides"), a.has("dilations") ? a.ints("dilations") : Ints{1, 1}, a.ints("pads")};
  return g;
}

/** NCHW input padded explicitly when the padding is asymmetric (else torch pads it). */
Tensor padIfAsymmetric(const Tensor& x, const Geometry& g, double value) {
  if (g.symmetric()) return x;
  return at::constant_pad_nd(x, {g.pads[2], g.pads[3], g.pads[0], g.pads[1]}, value);
}

Tensor padAll(const Tensor& x, const Geometry& g, double value) {
  if (g.pads[0] == 0 && g.pads[1] == 0 && g.pads[2] == 0 && g.pads[3] == 0) return x;
  return at::constant_pad_nd(x, {g.pads[2], g.pads[3], g.pads[0], g.pads[1]}, value);
}

/** Removes explicit padding from an NCHW gradient of a padded input. */
Tensor unpad(const Tensor& g, const Geometry& geo, int64_t h, int64_t w) {
  return g.narrow(2, geo.pads[0], h).narrow(3, geo.pads[2], w);
}

Tensor conv2dNCHW(const Tensor& x, const Tensor& weight, const Geometry& g, int64_t groups) {
  Tensor input = padIfAsymmetric(x, g, 0);
  return at::convolution(input, weight, {}, g.stride, g.symmetricPadding(), g.dilation, false, {0, 0}, groups);
}

/**
 * Gradient of a convolution with respect to its input, of NCHW shape [n, c, h, w]. ATen's
 * convolution_backward with only the input mask set: it reads the input's shape, not its values,
 * and measured 1.5–3× faster here than conv_transpose2d for the AE decoder's shapes.
 */
Tensor convInputGrad(const Tensor& dy, const Tensor& weight, const Geometry& g, int64_t groups, Ints inputShapeNCHW) {
  int64_t h = inputShapeNCHW[2], w = inputShapeNCHW[3];
  Ints padded = inputShapeNCHW;
  if (!g.symmetric()) {
    padded[2] += g.pads[0] + g.pads[1];
    padded[3] += g.pads[2] + g.pads[3];
  }
  // Only its shape is read; channels-last like dy (mixed formats measured 2–6× slower).
  Tensor input = at::empty(padded, dy.options().memory_format(at::MemoryFormat::ChannelsLast));
  auto grads = at::convolution_backward(dy, input, weight, c10::nullopt, g.stride, g.symmetricPadding(), g.dilation,
                                        false, {0, 0}, groups, {true, false, false});
  Tensor grad = std::get<0>(grads);
  return g.symmetric() ? grad : unpad(grad, g, h, w);
}

/** Gradient of a convolution with respect to its OIHW weight. */
Tensor convFilterGrad(const Tensor& x, const Tensor& dy, const Geometry& g, int64_t groups, Ints weightShapeOIHW) {
  Tensor input = padIfAsymmetric(x, g, 0);
  // Only its shape is read; channels-last like x (an NCHW weight measured up to 20× slower).
  Tensor weight = at::empty(weightShapeOIHW, x.options().memory_format(at::MemoryFormat::ChannelsLast));
  auto grads = at::convolution_backward(dy, input, weight, c10::nullopt, g.stride, g.symmetricPadding(), g.dilation,
                                        false, {0, 0}, groups, {false, true, false});
  return std::get<1>(grads);
}

/** Products of at least this many multiply-adds are split by rows (see productOf). */
constexpr int64_t kSplitMacs = int64_t(1) << 21;

/**
 * x·y (+ bias) for a matrix product. OpenBLAS runs single-threaded next to libtorch's OpenMP pool
 * (docs/engine.md), so a large 2-D product (or a batch of one) is computed as two fixed halves of
 * its rows, one per libtorch thread: each half is the same single-threaded GEMM whatever the
 * thread count, so the result does not depend on it. Anything else goes to at::matmul.
 */
Tensor productOf(const Tensor& x, const Tensor& y, const Tensor& bias) {
  const bool matrices = x.dim() == y.dim() && (x.dim() == 2 || (x.dim() == 3 && x.size(0) == 1 && y.size(0) == 1));
  const bool vectorBias = !bias.defined() || bias.dim() <= 1;
  if (!matrices || !vectorBias || x.scalar_type() != at::kFloat) return bias.defined() ? at::matmul(x, y) + bias : at::matmul(x, y);
  const Tensor a = x.dim() == 3 ? x.select(0, 0) : x, b = y.dim() == 3 ? y.select(0, 0) : y;
  const int64_t m = a.size(0), k = a.size(1), n = b.size(1);
  if (m < 64 || m * k * n < kSplitMacs) {
    Tensor out = bias.defined() ? at::addmm(bias, a, b) : at::mm(a, b);
    return x.dim() == 3 ? out.unsqueeze(0) : out;
  }
  Tensor out = at::empty({m, n}, a.options());
  const int64_t first = (m + 1) / 2;
  at::parallel_for(0, 2, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      const int64_t start = i == 0 ? 0 : first, rows = i == 0 ? first : m - first;
      Tensor part = out.narrow(0, start, rows);
      if (bias.defined()) at::addmm_out(part, bias, a.narrow(0, start, rows), b);
      else at::mm_out(part, a.narrow(0, start, rows), b);
    }
  });
  return x.dim() == 3 ? out.unsqueeze(0) : out;
}

Tensor activate(const Tensor& x, const std::string& activation, const Tensor& preluWeights, double leakyAlpha) {
  if (activation.empty() || activation == "linear") return x;
  if (activation == "relu") return at::relu(x);
  if (activation == "relu6") return at::clamp(x, 0, 6);
  if (activation == "elu") return at::elu(x);
  if (activation == "sigmoid") return at::sigmoid(x);
  if (activation == "leakyrelu") return at::leaky_relu(x, leakyAlpha);
  if (activation == "prelu") return at::where(x < 0, x * preluWeights, x);
  throw std::invalid_argument("unknown fused activation '" + activation + "'");
}

std::string activationOf(const Attrs& a) { return a.has("activation") ? a.str("activation") : "linear"; }
double leakyAlphaOf(const Attrs& a) { return a.has("leakyreluAlpha") ? a.num("leakyreluAlpha") : 0.2; }

/** Vector-Jacobian product of `forward` at x with cotangent dy, by libtorch's autograd. */
Tensor vjp(const std::function<Tensor(const Tensor&)>& forward, const Tensor& x, const Tensor& dy) {
  at::AutoGradMode enable(true);
  Tensor input = x.detach().requires_grad_(true);
  Tensor y = forward(input);
  return torch::autograd::grad({y}, {input}, {dy})[0];
}

Tensor maxPoolNCHW(const Tensor& x, const Attrs& a) {
  Geometry g = geometry(a);
  Ints k = a.ints("filterSize");
  bool torchCanPad = g.symmetric() && g.pads[0] * 2 <= k[0] && g.pads[2] * 2 <= k[1];
  // Padded cells never win a maximum, as in TensorFlow.js.
  Tensor input = torchCanPad ? x : padAll(x, g, -std::numeric_limits<double>::infinity());
  Ints padding = torchCanPad ? g.symmetricPadding() : Ints{0, 0};
  return at::max_pool2d(input, k, g.stride, padding, {1, 1}, false);
}

/** Average over the cells inside the image only (TensorFlow's 'same' excludes padding). */
Tensor avgPoolNCHW(const Tensor& x, const Attrs& a) {
  Geometry g = geometry(a);
  Ints k = a.ints("filterSize");
  if (g.pads == Ints{0, 0, 0, 0}) return at::avg_pool2d(x, k, g.stride, {0, 0}, false, true);
  Tensor sums = at::avg_pool2d(padAll(x, g, 0), k, g.stride, {0, 0}, false, true, 1);
  Tensor ones = at::ones({1, 1, x.size(2), x.size(3)}, x.options());
  Tensor counts = at::avg_pool2d(padAll(ones, g, 0), k, g.stride, {0, 0}, false, true, 1);
  return sums / counts;
}

/**
 * TensorFlow.js's bilinear resize (legacy asymmetric, align-corners or half-pixel mapping),
 * written with index_select and lerps so that autograd gives its gradient.
 */
Tensor resizeBilinearNHWC(const Tensor& images, int64_t newH, int64_t newW, bool alignCorners, bool halfPixel) {
  auto axis = [&](int64_t in, int64_t out, int dim) {
    double effIn = (alignCorners && out > 1) ? in - 1 : in;
    double effOut = (alignCorners && out > 1) ? out - 1 : out;
    double ratio = effIn / effOut;
    std::vector<int64_t> lo(out), hi(out);
    std::vector<float> frac(out);
    for (int64_t i = 0; i < out; i++) {
      double src = halfPixel ? ratio * (i + 0.5) - 0.5 : ratio * i;
      double fl = std::floor(src);
      lo[i] = std::max<int64_t>(0, static_cast<int64_t>(fl));
      hi[i] = std::min<int64_t>(in - 1, static_cast<int64_t>(std::ceil(src)));
      frac[i] = static_cast<float>(src - fl);
    }
    Ints shape{1, 1, 1, 1};
    shape[dim] = out;
    return std::make_tuple(at::tensor(lo, at::kLong), at::tensor(hi, at::kLong),
                           at::tensor(frac, at::kFloat).reshape(shape));
  };
  auto [top, bottom, rowFrac] = axis(images.size(1), newH, 1);
  auto [left, right, colFrac] = axis(images.size(2), newW, 2);
  Tensor t = images.index_select(1, top), b = images.index_select(1, bottom);
  Tensor rows = t + (b - t) * rowFrac;
  Tensor l = rows.index_select(2, left), r = rows.index_select(2, right);
  return l + (r - l) * colFrac;
}

/** Reduction over `axes`; TensorFlow.js reduces nothing when the list is empty. */
Tensor reduce(const Tensor& x, const Attrs& a, const std::function<Tensor(const Tensor&, int64_t, bool)>& one,
              const std::function<Tensor(const Tensor&, Ints, bool)>& many) {
  Ints axes = a.ints("axis");
  bool keep = a.flag("keepDims");
  if (axes.empty()) return x;
  if (many) return many(x, axes, keep);
  std::sort(axes.rbegin(), axes.rend());
  Tensor out = x;
  for (int64_t axis : axes) out = one(out, axis, true);
  if (!keep) {
    for (int64_t axis : axes) out = out.squeeze(axis);
  }
  return out;
}

Tensor boolToInt(const Tensor& x) { return x.scalar_type() == at::kBool ? x.to(at::kInt) : x; }

using Unary = std::function<Tensor(const Tensor&)>;
using Binary = std::function<Tensor(const Tensor&, const Tensor&)>;

std::map<std::string, KernelFn> buildTable() {
  std::map<std::string, KernelFn> k;
  auto unary = [&](const std::string& name, Unary f) {
    k[name] = [f](const Tensors& in, const Attrs&) { return Tensors{f(in[0])}; };
  };
  auto binary = [&](const std::string& name, Binary f) {
    k[name] = [f](const Tensors& in, const Attrs&) { return Tensors{f(in[0], in[1])}; };
  };

  // ---- elementwise, one input
  unary("Identity", [](const Tensor& x) { return x; });
  unary("Abs", [](const Tensor& x) { return at::abs(x); });
  unary("Neg", [](const Tensor& x) { return at::neg(x); });
  unary("Exp", [](const Tensor& x) { return at::exp(x); });
  unary("Expm1", [](const Tensor& x) { return at::expm1(x); });
  unary("Log", [](const Tensor& x) { return at::log(x); });
  unary("Log1p", [](const Tensor& x) { return at::log1p(x); });
  unary("Sqrt", [](const Tensor& x) { return at::sqrt(x); });
  unary("Rsqrt", [](const Tensor& x) { return at::rsqrt(x); });
  unary("Square", [](const Tensor& x) { return x * x; });
  unary("Reciprocal", [](const Tensor& x) { return at::reciprocal(x); });
  unary("Tanh", [](const Tensor& x) { return at::tanh(x); });
  unary("Sigmoid", [](const Tensor& x) { return at::sigmoid(x); });
  unary("Softplus", [](const Tensor& x) { return at::softplus(x); });
  unary("Relu", [](const Tensor& x) { return at::relu(x); });
  unary("Relu6", [](const Tensor& x) { return at::clamp(x, 0, 6); });
  unary("Elu", [](const Tensor& x) { return at::elu(x); });
  unary("Selu", [](const Tensor& x) { return at::selu(x); });
  unary("Erf", [](const Tensor& x) { return at::erf(x); });
  unary("Sin", [](const Tensor& x) { return at::sin(x); });
  unary("Cos", [](const Tensor& x) { return at::cos(x); });
  unary("Tan", [](const Tensor& x) { return at::tan(x); });
  unary("Asin", [](const Tensor& x) { return at::asin(x); });
  unary("Acos", [](const Tensor& x) { return at::acos(x); });
  unary("Atan", [](const Tensor& x) { return at::atan(x); });
  unary("Sinh", [](const Tensor& x) { return at::sinh(x); });
  unary("Cosh", [](const Tensor& x) { return at::cosh(x); });
  unary("Floor", [](const Tensor& x) { return at::floor(x); });
  unary("Ceil", [](const Tensor& x) { return at::ceil(x); });
  unary("Round", [](const Tensor& x) { return at::round(x); });  // half to even, as tfjs
  unary("Sign", [](const Tensor& x) { return at::sign(x); });
  unary("IsNan", [](const Tensor& x) { return at::isnan(x); });
  unary("IsInf", [](const Tensor& x) { return at::isinf(x); });
  unary("IsFinite", [](const Tensor& x) { return at::isfinite(x); });
  unary("LogicalNot", [](const Tensor& x) { return at::logical_not(x); });
  unary("ZerosLike", [](const Tensor& x) { return at::zeros_like(x); });
  unary("OnesLike", [](const Tensor& x) { return at::ones_like(x); });
  k["LeakyRelu"] = [](const Tensors& in, const Attrs& a) {
    // tfjs: x < 0 ? αx : x; ATen: x > 0 ? x : αx — the same, 0 included.
    return Tensors{at::leaky_relu(in[0], a.num("alpha"))};
  };
  k["Step"] = [](const Tensors& in, const Attrs& a) {  // x > 0 ? 1 : α, NaN stays NaN
    const Tensor& x = in[0];
    double alpha = a.num("alpha");
    // ceil(clamp(x, 0, 1)) is 1 for every x > 0 (denormals and +inf included), 0 otherwise, and
    // keeps NaN: two vectorised passes (every relu gradient is a Step; where/isnan/masked_fill
    // compositions measured 10× slower).
    Tensor out = x.is_floating_point() ? at::clamp(x, 0, 1).ceil_() : at::gt(x, 0).to(x.scalar_type());
    if (alpha != 0) out.mul_(1 - alpha).add_(alpha);
    return Tensors{out};
  };
  k["ClipByValue"] = [](const Tensors& in, const Attrs& a) {
    return Tensors{at::clamp(in[0], a.num("clipValueMin"), a.num("clipValueMax"))};
  };
  k["Cast"] = [](const Tensors& in, const Attrs& a) {
    at::ScalarType to = scalarTypeOf(a.str("dtype"));
    if (to == at::kBool) return Tensors{in[0] != 0};
    return Tensors{in[0].to(to)};
  };
  k["EluGrad"] = [](const Tensors& in, const Attrs&) {
    const Tensor &dy = in[0], &y = in[1];
    return Tensors{at::where(y >= 0, dy, dy * (y + 1))};
  };

  // ---- elementwise, two inputs (tfjs has matched their dtypes; ATen broadcasts like tfjs)
  binary("Add", [](const Tensor& a, const Tensor& b) { return a + b; });
  binary("Sub", [](const Tensor& a, const Tensor& b) { return a - b; });
  binary("Multiply", [](const Tensor& a, const Tensor& b) { return a * b; });
  binary("RealDiv", [](const Tensor& a, const Tensor& b) { return at::div(a, b); });
  binary("FloorDiv", [](const Tensor& a, const Tensor& b) { return at::div(a, b, "floor"); });
  binary("Mod", [](const Tensor& a, const Tensor& b) { return at::remainder(a, b); });
  binary("Pow", [](const Tensor& a, const Tensor& b) { return at::pow(a, b); });
  binary("SquaredDifference", [](const Tensor& a, const Tensor& b) { Tensor d = a - b; return d * d; });
  binary("Maximum", [](const Tensor& a, const Tensor& b) { return at::maximum(a, b); });
  binary("Minimum", [](const Tensor& a, const Tensor& b) { return at::minimum(a, b); });
  binary("Atan2", [](const Tensor& a, const Tensor& b) { return at::atan2(a, b); });
  binary("Equal", [](const Tensor& a, const Tensor& b) { return at::eq(a, b); });
  binary("NotEqual", [](const Tensor& a, const Tensor& b) { return at::ne(a, b); });
  binary("Greater", [](const Tensor& a, const Tensor& b) { return at::gt(a, b); });
  binary("GreaterEqual", [](const Tensor& a, const Tensor& b) { return at::ge(a, b); });
  binary("Less", [](const Tensor& a, const Tensor& b) { return at::lt(a, b); });
  binary("LessEqual", [](const Tensor& a, const Tensor& b) { return at::le(a, b); });
  binary("LogicalAnd", [](const Tensor& a, const Tensor& b) { return at::logical_and(a, b); });
  binary("LogicalOr", [](const Tensor& a, const Tensor& b) { return at::logical_or(a, b); });
  binary("Prelu", [](const Tensor& x, const Tensor& alpha) { return at::where(x < 0, x * alpha, x); });
  k["AddN"] = [](const Tensors& in, const Attrs&) {
    Tensor sum = in[0];
    for (size_t i = 1; i < in.size(); i++) sum = sum + in[i];
    return Tensors{sum};
  };
  k["Select"] = [](const Tensors& in, const Attrs&) {
    Tensor cond = in[0];
    // tfjs: a rank-1 condition picks whole rows of higher-rank t/e.
    if (cond.dim() == 1 && in[1].dim() > 1) {
      Ints shape(in[1].dim(), 1);
      shape[0] = cond.size(0);
      cond = cond.reshape(shape);
    }
    return Tensors{at::where(cond, in[1], in[2])};
  };

  // ---- matrix products
  k["BatchMatMul"] = [](const Tensors& in, const Attrs& a) {
    Tensor x = a.flag("transposeA") ? in[0].transpose(-1, -2) : in[0];
    Tensor y = a.flag("transposeB") ? in[1].transpose(-1, -2) : in[1];
    return Tensors{productOf(x, y, Tensor())};
  };
  k["_FusedMatMul"] = [](const Tensors& in, const Attrs& a) {
    Tensor x = a.flag("transposeA") ? in[0].transpose(-1, -2) : in[0];
    Tensor y = a.flag("transposeB") ? in[1].transpose(-1, -2) : in[1];
    const Tensor& bias = in[2];
    Tensor out = productOf(x, y, bias);
    return Tensors{activate(out, activationOf(a), in[3], leakyAlphaOf(a))};
  };

  // ---- convolutions (NHWC / HWIO at the boundary)
  k["Conv2D"] = [](const Tensors& in, const Attrs& a) {
    return Tensors{toNHWC(conv2dNCHW(toNCHW(in[0]), filterToOIHW(in[1]), geometry(a), 1))};
  };
  k["FusedConv2D"] = [](const Tensors& in, const Attrs& a) {
    Tensor out = toNHWC(conv2dNCHW(toNCHW(in[0]), filterToOIHW(in[1]), geometry(a), 1));
    if (in[2].defined()) out = out + in[2];
    return Tensors{activate(out, activationOf(a), in[3], leakyAlphaOf(a))};
  };
  k["Conv2DBackpropInput"] = [](const Tensors& in, const Attrs& a) {
    Ints s = a.ints("inputShape");  // NHWC
    return Tensors{toNHWC(convInputGrad(toNCHW(in[0]), filterToOIHW(in[1]), geometry(a), 1, {s[0], s[3], s[1], s[2]}))};
  };
  k["Conv2DBackpropFilter"] = [](const Tensors& in, const Attrs& a) {
    Ints f = a.ints("filterShape");  // HWIO
    Tensor gw = convFilterGrad(toNCHW(in[0]), toNCHW(in[1]), geometry(a), 1, {f[3], f[2], f[0], f[1]});
    return Tensors{gw.permute({2, 3, 1, 0})};
  };
  k["DepthwiseConv2dNative"] = [](const Tensors& in, const Attrs& a) {
    return Tensors{toNHWC(conv2dNCHW(toNCHW(in[0]), depthwiseToOIHW(in[1]), geometry(a), in[0].size(3)))};
  };
  k["FusedDepthwiseConv2D"] = [](const Tensors& in, const Attrs& a) {
    Tensor out = toNHWC(conv2dNCHW(toNCHW(in[0]), depthwiseToOIHW(in[1]), geometry(a), in[0].size(3)));
    if (in[2].defined()) out = out + in[2];
    return Tensors{activate(out, activationOf(a), in[3], leakyAlphaOf(a))};
  };
  k["DepthwiseConv2dNativeBackpropInput"] = [](const Tensors& in, const Attrs& a) {
    Ints s = a.ints("inputShape");
    return Tensors{toNHWC(convInputGrad(toNCHW(in[0]), depthwiseToOIHW(in[1]), geometry(a), s[3], {s[0], s[3], s[1], s[2]}))};
  };
  k["DepthwiseConv2dNativeBackpropFilter"] = [](const Tensors& in, const Attrs& a) {
    Ints f = a.ints("filterShape");  // [fh, fw, C, M]
    Tensor gw = convFilterGrad(toNCHW(in[0]), toNCHW(in[1]), geometry(a), f[2], {f[2] * f[3], 1, f[0], f[1]});
    return Tensors{gw.reshape({f[2], f[3], f[0], f[1]}).permute({2, 3, 0, 1})};
  };

  // ---- pooling, resizing, normalisation
  k["MaxPool"] = [](const Tensors& in, const Attrs& a) { return Tensors{toNHWC(maxPoolNCHW(toNCHW(in[0]), a))}; };
  k["MaxPoolGrad"] = [](const Tensors& in, const Attrs& a) {  // inputs: dy, input, output
    auto forward = [&a](const Tensor& x) { return maxPoolNCHW(x, a); };
    return Tensors{toNHWC(vjp(forward, toNCHW(in[1]), toNCHW(in[0])))};
  };
  k["AvgPool"] = [](const Tensors& in, const Attrs& a) { return Tensors{toNHWC(avgPoolNCHW(toNCHW(in[0]), a))}; };
  k["AvgPoolGrad"] = [](const Tensors& in, const Attrs& a) {  // inputs: dy, input
    // TensorFlow.js's average-pool gradient divides by the whole window, padded cells included
    // (its forward pass counts only the cells inside); we follow the cpu reference.
    auto forward = [&a](const Tensor& x) {
      Geometry g = geometry(a);
      return at::avg_pool2d(padAll(x, g, 0), a.ints("filterSize"), g.stride, {0, 0}, false, true);
    };
    return Tensors{toNHWC(vjp(forward, toNCHW(in[1]), toNCHW(in[0])))};
  };
  k["ResizeBilinear"] = [](const Tensors& in, const Attrs& a) {
    Ints size = a.ints("size");
    return Tensors{resizeBilinearNHWC(in[0], size[0], size[1], a.flag("alignCorners"), a.flag("halfPixelCenters"))};
  };
  k["ResizeBilinearGrad"] = [](const Tensors& in, const Attrs& a) {  // inputs: images, dy
    const Tensor& dy = in[1];
    auto forward = [&](const Tensor& x) {
      return resizeBilinearNHWC(x, dy.size(1), dy.size(2), a.flag("alignCorners"), a.flag("halfPixelCenters"));
    };
    return Tensors{vjp(forward, in[0], dy)};
  };
  k["FusedBatchNorm"] = [](const Tensors& in, const Attrs& a) {  // x, mean, variance, offset, scale
    Tensor out = (in[0] - in[1]) * at::rsqrt(in[2] + a.num("varianceEpsilon"));
    if (in[4].defined()) out = out * in[4];
    if (in[3].defined()) out = out + in[3];
    return Tensors{out};
  };
  k["Softmax"] = [](const Tensors& in, const Attrs& a) { return Tensors{at::softmax(in[0], a.integer("dim"))}; };

  // ---- reductions (axes normalised to non-negative on the TypeScript side)
  k["Sum"] = [](const Tensors& in, const Attrs& a) {
    Tensor x = boolToInt(in[0]);
    return Tensors{reduce(x, a, nullptr, [](const Tensor& t, Ints axes, bool keep) { return at::sum(t, axes, keep); })};
  };
  k["Mean"] = [](const Tensors& in, const Attrs& a) {
    Tensor x = in[0].is_floating_point() ? in[0] : in[0].to(at::kFloat);
    return Tensors{reduce(x, a, nullptr, [](const Tensor& t, Ints axes, bool keep) { return at::mean(t, axes, keep); })};
  };
  k["Max"] = [](const Tensors& in, const Attrs& a) {
    return Tensors{reduce(in[0], a, nullptr, [](const Tensor& t, Ints axes, bool keep) { return at::amax(t, axes, keep); })};
  };
  k["Min"] = [](const Tensors& in, const Attrs& a) {
    return Tensors{reduce(in[0], a, nullptr, [](const Tensor& t, Ints axes, bool keep) { return at::amin(t, axes, keep); })};
  };
  k["Prod"] = [](const Tensors& in, const Attrs& a) {
    return Tensors{reduce(boolToInt(in[0]), a, [](const Tensor& t, int64_t axis, bool keep) { return at::prod(t, axis, keep); }, nullptr)};
  };
  k["All"] = [](const Tensors& in, const Attrs& a) {
    return Tensors{reduce(in[0], a, [](const Tensor& t, int64_t axis, bool keep) { return at::all(t, axis, keep); }, nullptr)};
  };
  k["Any"] = [](const Tensors& in, const Attrs& a) {
    return Tensors{reduce(in[0], a, [](const Tensor& t, int64_t axis, bool keep) { return at::any(t, axis, keep); }, nullptr)};
  };
  k["ArgMax"] = [](const Tensors& in, const Attrs& a) { return Tensors{at::argmax(in[0], a.integer("axis"))}; };
  k["ArgMin"] = [](const Tensors& in, const Attrs& a) { return Tensors{at::argmin(in[0], a.integer("axis"))}; };

  // ---- shapes and indexing (views where ATen allows: tensors are never written in place)
  k["Reshape"] = [](const Tensors& in, const Attrs& a) { return Tensors{in[0].reshape(a.ints("shape"))}; };
  k["Transpose"] = [](const Tensors& in, const Attrs& a) { return Tensors{in[0].permute(a.ints("perm"))}; };
  k["Slice"] = [](const Tensors& in, const Attrs& a) {
    Ints begin = a.ints("begin"), size = a.ints("size");
    Tensor out = in[0];
    for (size_t d = 0; d < begin.size(); d++) out = out.narrow(d, begin[d], size[d]);
    return Tensors{out};
  };
  k["Concat"] = [](const Tensors& in, const Attrs& a) { return Tensors{at::cat(in, a.integer("axis"))}; };
  k["Pack"] = [](const Tensors& in, const Attrs& a) { return Tensors{at::stack(in, a.integer("axis"))}; };
  k["Unpack"] = [](const Tensors& in, const Attrs& a) {
    auto parts = at::unbind(in[0], a.integer("axis"));
    return Tensors(parts.begin(), parts.end());
  };
  k["SplitV"] = [](const Tensors& in, const Attrs& a) {
    auto parts = at::split_with_sizes(in[0], a.ints("sizes"), a.integer("axis"));
    return Tensors(parts.begin(), parts.end());
  };
  k["PadV2"] = [](const Tensors& in, const Attrs& a) {
    Ints flat = a.ints("paddings");  // [before0, after0, before1, after1, ...]
    Ints torchOrder;
    for (int64_t d = static_cast<int64_t>(flat.size() / 2) - 1; d >= 0; d--) {
      torchOrder.push_back(flat[2 * d]);
      torchOrder.push_back(flat[2 * d + 1]);
    }
    return Tensors{at::constant_pad_nd(in[0], torchOrder, a.num("constantValue"))};
  };
  k["Reverse"] = [](const Tensors& in, const Attrs& a) {
    Ints dims = a.ints("dims");
    return Tensors{dims.empty() ? in[0] : at::flip(in[0], dims)};
  };
  k["Tile"] = [](const Tensors& in, const Attrs& a) { return Tensors{in[0].repeat(a.ints("reps"))}; };
  k["GatherV2"] = [](const Tensors& in, const Attrs& a) {  // batchDims 0 (others fall back)
    const Tensor& x = in[0];
    int64_t axis = a.integer("axis");
    Tensor indices = in[1].to(at::kLong);
    Tensor picked = x.index_select(axis, indices.reshape({-1}));
    Ints shape(x.sizes().begin(), x.sizes().begin() + axis);
    for (int64_t s : indices.sizes()) shape.push_back(s);
    for (int64_t d = axis + 1; d < x.dim(); d++) shape.push_back(x.size(d));
    return Tensors{picked.reshape(shape)};
  };
  k["UnsortedSegmentSum"] = [](const Tensors& in, const Attrs& a) {
    const Tensor& x = in[0];
    Tensor ids = in[1].to(at::kLong).reshape({-1});
    Ints rest(x.sizes().begin() + in[1].dim(), x.sizes().end());
    Tensor rows = x.reshape({ids.size(0), -1});
    // Negative ids are dropped, as in TensorFlow.
    Tensor keep = ids >= 0;
    if (!keep.all().item<bool>()) {
      rows = rows.index({keep});
      ids = ids.index({keep});
    }
    Tensor out = at::zeros({a.integer("numSegments"), rows.size(1)}, x.options());
    out.index_add_(0, ids, rows);
    Ints shape{a.integer("numSegments")};
    shape.insert(shape.end(), rest.begin(), rest.end());
    return Tensors{out.reshape(shape)};
  };
  k["OneHot"] = [](const Tensors& in, const Attrs& a) {
    Tensor positions = at::arange(a.integer("depth"), in[0].options().dtype(at::kLong));
    Tensor hot = in[0].to(at::kLong).unsqueeze(-1) == positions;  // out-of-range rows stay off
    at::ScalarType type = scalarTypeOf(a.str("dtype"));
    Tensor on = at::scalar_tensor(a.num("onValue"), at::kFloat), off = at::scalar_tensor(a.num("offValue"), at::kFloat);
    return Tensors{at::where(hot, on, off).to(type)};
  };
  k["Fill"] = [](const Tensors&, const Attrs& a) {
    return Tensors{at::full(a.ints("shape"), a.num("value"), at::TensorOptions().dtype(scalarTypeOf(a.str("dtype"))))};
  };

  // ---- our own fused kernels (not TensorFlow.js kernels)
  k["InntrospectAdamUpdate"] = adamUpdate;
  addCouplingKernels(k);
  return k;
}

}  // namespace

const std::map<std::string, KernelFn>& kernelTable() {
  static const std::map<std::string, KernelFn> table = buildTable();
  return table;
}

}  // namespace inntrospect
