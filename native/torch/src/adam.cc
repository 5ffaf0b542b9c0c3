// InntrospectAdamUpdate: Adam's update for every variable of one optimizer step in one native
// call (src/engine/adam-update.ts is the TypeScript side, src/train/fused-adam.ts the optimizer).
//
// Inputs: [accBeta1, accBeta2, var_0, grad_0, m_0, v_0, var_1, grad_1, m_1, v_1, ...], all
// float32; accBeta1/2 are the optimizer's β₁ᵗ and β₂ᵗ scalars. Attributes: learningRate, beta1,
// beta2, epsilon. Outputs: [newVar_0, newM_0, newV_0, newVar_1, ...], new tensors (inputs are
// never written: TensorFlow.js tensors may share storage).
//
// The arithmetic is tfjs-core 4.22's AdamOptimizer.applyGradients, operation by operation, each
// rounded to float32 as its separate kernels round it:
//   m' = m·β₁ + g·(1−β₁)            v' = v·β₂ + g²·(1−β₂)
//   m̂ = m' / (1−β₁ᵗ)                v̂ = v' / (1−β₂ᵗ)
//   var' = (m̂ / (√v̂ + ε))·(−lr) + var
// with the constants rounded to float32 where tfjs makes them float32 scalars. This file is
// The addon is compiled with -ffp-contract=off (binding.gyp), so no multiply-add is fused into one rounding,
// and no -ffast-math.
#include "kernels.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <stdexcept>
#include <string>

namespace inntrospect {

namespace {

struct AdamConstants {
  float beta1, beta2, oneMinusBeta1, oneMinusBeta2, epsilon, negLearningRate;
  float biasCorrection1, biasCorrection2;  // 1 − β₁ᵗ, 1 − β₂ᵗ in float32
};

float scalarValue(const at::Tensor& t, const char* what) {
  if (!t.defined() || t.scalar_type() != at::kFloat || t.numel() != 1) {
    throw std::invalid_argument(std::string("InntrospectAdamUpdate: ") + what + " must be a float32 scalar");
  }
  return t.item<float>();
}

void checkSlot(const at::Tensor& t, const at::Tensor& var, size_t index, const char* what) {
  std::string where = "InntrospectAdamUpdate: variable " + std::to_string(index) + ": ";
  if (!t.defined()) throw std::invalid_argument(where + what + " is missing");
  if (t.scalar_type() != at::kFloat) throw std::invalid_argument(where + what + " must be float32");
  if (!t.sizes().equals(var.sizes())) {
    throw std::invalid_argument(where + what + " has shape " + c10::str(t.sizes()) + ", the variable " + c10::str(var.sizes()));
  }
}

/** One element of the update, in tfjs's operation order (see the top of this file). */
inline void adamElement(const AdamConstants& c, int64_t i, const float* x, const float* g, const float* m0,
                        const float* v0, float* x1, float* m1, float* v1) {
  float mNew = m0[i] * c.beta1 + g[i] * c.oneMinusBeta1;
  float vNew = v0[i] * c.beta2 + (g[i] * g[i]) * c.oneMinusBeta2;
  float mHat = mNew / c.biasCorrection1;
  float vHat = vNew / c.biasCorrection2;
  float step = mHat / (std::sqrt(vHat) + c.epsilon);
  m1[i] = mNew;
  v1[i] = vNew;
  x1[i] = step * c.negLearningRate + x[i];
}

/**
 * Elements [begin, end). The body runs in blocks of 8 so that GCC vectorises it at -O2 (its
 * cheap cost model wants a fixed trip count); an AVX2 clone is picked at load time where the CPU
 * has it. Division and square root vectorise to the same correctly rounded IEEE operations
 * (-fno-math-errno in binding.gyp only drops the errno write for √ of a negative number, which
 * otherwise keeps sqrt scalar), so every lane gives the scalar result.
 */
__attribute__((target_clones("avx2", "default")))
void adamRange(const AdamConstants& c, int64_t begin, int64_t end, const float* __restrict x, const float* __restrict g,
               const float* __restrict m0, const float* __restrict v0, float* __restrict x1, float* __restrict m1,
               float* __restrict v1) {
  constexpr int64_t kBlock = 8;
  int64_t i = begin;
  for (; i + kBlock <= end; i += kBlock) {
    for (int64_t j = 0; j < kBlock; j++) adamElement(c, i + j, x, g, m0, v0, x1, m1, v1);
  }
  for (; i < end; i++) adamElement(c, i, x, g, m0, v0, x1, m1, v1);
}

void updateOne(const AdamConstants& c, const at::Tensor& var, const at::Tensor& grad, const at::Tensor& m,
               const at::Tensor& v, at::Tensor& newVar, at::Tensor& newM, at::Tensor& newV) {
  const float* x = var.data_ptr<float>();
  const float* g = grad.data_ptr<float>();
  const float* m0 = m.data_ptr<float>();
  const float* v0 = v.data_ptr<float>();
  float* x1 = newVar.data_ptr<float>();
  float* m1 = newM.data_ptr<float>();
  float* v1 = newV.data_ptr<float>();
  at::parallel_for(0, var.numel(), at::internal::GRAIN_SIZE, [&](int64_t begin, int64_t end) {
    adamRange(c, begin, end, x, g, m0, v0, x1, m1, v1);
  });
}

}  // namespace

Tensors adamUpdate(const Tensors& in, const Attrs& a) {
  if (in.size() < 2 || (in.size() - 2) % 4 != 0) {
    throw std::invalid_argument("InntrospectAdamUpdate: expected [accBeta1, accBeta2] and 4 tensors per variable, got " +
                                std::to_string(in.size()) + " inputs");
  }
  const double beta1 = a.num("beta1"), beta2 = a.num("beta2");
  AdamConstants c{};
  c.beta1 = static_cast<float>(beta1);
  c.beta2 = static_cast<float>(beta2);
  c.oneMinusBeta1 = static_cast<float>(1.0 - beta1);  // tfjs: scalar(1 - beta1), computed in double
  c.oneMinusBeta2 = static_cast<float>(1.0 - beta2);
  c.epsilon = static_cast<float>(a.num("epsilon"));
  c.negLearningRate = static_cast<float>(-a.num("learningRate"));
  c.biasCorrection1 = 1.0f - scalarValue(in[0], "accBeta1");  // tfjs: sub(1, accBeta1) in float32
  c.biasCorrection2 = 1.0f - scalarValue(in[1], "accBeta2");

  const size_t count = (in.size() - 2) / 4;
  // Every input is checked before anything is computed, so a bad call returns no partial result.
  for (size_t k = 0; k < count; k++) {
    const at::Tensor& var = in[2 + 4 * k];
    if (!var.defined() || var.scalar_type() != at::kFloat) {
      throw std::invalid_argument("InntrospectAdamUpdate: variable " + std::to_string(k) + " must be float32");
    }
    checkSlot(in[3 + 4 * k], var, k, "gradient");
    checkSlot(in[4 + 4 * k], var, k, "first moment");
    checkSlot(in[5 + 4 * k], var, k, "second moment");
  }
  Tensors out;
  out.reserve(3 * count);
  for (size_t k = 0; k < count; k++) {
    at::Tensor var = in[2 + 4 * k].contiguous(), grad = in[3 + 4 * k].contiguous();
    at::Tensor m = in[4 + 4 * k].contiguous(), v = in[5 + 4 * k].contiguous();
    at::Tensor newVar = at::empty(var.sizes(), var.options());
    at::Tensor newM = at::empty(var.sizes(), var.options());
    at::Tensor newV = at::empty(var.sizes(), var.options());
    updateOne(c, var, grad, m, v, newVar, newM, newV);
    out.push_back(newVar);
    out.push_back(newM);
    out.push_back(newV);
  }
  return out;
}

}  // namespace inntrospect
