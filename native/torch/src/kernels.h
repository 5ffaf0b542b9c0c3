// TensorFlow.js kernels over libtorch (ATen). Every kernel takes its inputs in the order the
// TypeScript side declares (src/engine/torch/kernels.ts), an undefined tensor for an absent
// optional input, and attributes already normalised on the TypeScript side (explicit paddings,
// non-negative axes). Layouts follow TensorFlow.js: NHWC activations, HWIO filters.
#pragma once
#include <ATen/ATen.h>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace inntrospect {

/** One attribute: a number, a list of numbers, or a string (booleans arrive as 0/1). */
struct Attr {
  double number = 0;
  std::vector<double> list;
  std::string text;
};

class Attrs {
 public:
  std::map<std::string, Attr> values;
  const Attr& get(const std::string& key) const;
  bool has(const std::string& key) const { return values.count(key) > 0; }
  double num(const std::string& key) const { return get(key).number; }
  int64_t integer(const std::string& key) const { return static_cast<int64_t>(get(key).number); }
  bool flag(const std::string& key) const { return get(key).number != 0; }
  std::vector<int64_t> ints(const std::string& key) const;
  const std::string& str(const std::string& key) const { return get(key).text; }
};

using Tensors = std::vector<at::Tensor>;
using KernelFn = std::function<Tensors(const Tensors&, const Attrs&)>;

/** Kernel name (TensorFlow.js spelling) → implementation. */
const std::map<std::string, KernelFn>& kernelTable();

/** InntrospectAdamUpdate: one Adam step for many variables (adam.cc). */
Tensors adamUpdate(const Tensors& in, const Attrs& a);

/** InntrospectCoupling{Forward,Backward,Inverse}: one fused flow block per call (coupling.cc). */
void addCouplingKernels(std::map<std::string, KernelFn>& table);

/** float32 / int32 / bool, the dtypes TensorFlow.js stores. */
at::ScalarType scalarTypeOf(const std::string& dtype);
std::string dtypeName(at::ScalarType type);
/** Casts libtorch's int64/float64 results to the TensorFlow.js dtype they stand for. */
at::Tensor toTfjsDtype(const at::Tensor& t);

}  // namespace inntrospect
