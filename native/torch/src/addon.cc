// N-API surface of inntrospect's libtorch backend. Tensors live in a handle table owned here;
// JavaScript holds integer handles and frees them explicitly through the backend's
// disposeData (never through garbage collection). Every libtorch error becomes a JavaScript
// Error: no exception crosses into Node.
//
// Exports: create(values, shape, dtype) → handle; read(handle) → typed array copy;
// dispose(handle); run(kernel, handles, attrs) → [[handle, dtype, shape], ...]; kernelNames();
// liveTensors(); setNumThreads(n); threads() → {intraOp, interOp, blas, blasSource}.
#include <napi.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <dlfcn.h>

#include <cstring>
#include <vector>

#include <torch/version.h>

#include "kernels.h"

namespace inntrospect {
namespace {

/** Handle table: slot i holds a tensor or nothing; freed slots are reused. */
class TensorTable {
 public:
  uint32_t add(at::Tensor t) {
    live_++;
    if (!free_.empty()) {
      uint32_t id = free_.back();
      free_.pop_back();
      slots_[id] = std::move(t);
      return id;
    }
    slots_.push_back(std::move(t));
    return static_cast<uint32_t>(slots_.size() - 1);
  }
  const at::Tensor& get(uint32_t id) const {
    if (id >= slots_.size() || !slots_[id].defined()) throw std::invalid_argument("torch backend: unknown tensor handle " + std::to_string(id));
    return slots_[id];
  }
  void remove(uint32_t id) {
    get(id);
    slots_[id] = at::Tensor();
    free_.push_back(id);
    live_--;
  }
  size_t live() const { return live_; }

 private:
  std::vector<at::Tensor> slots_;
  std::vector<uint32_t> free_;
  size_t live_ = 0;
};

TensorTable& table() {
  static TensorTable t;
  return t;
}

/** Runs `body`, turning libtorch's and the standard library's exceptions into JS Errors. */
template <typename F>
Napi::Value guarded(const Napi::Env& env, F body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(env, std::string("libtorch: ") + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("torch backend: ") + e.what());
  } catch (...) {
    throw Napi::Error::New(env, "torch backend: unknown native exception");
  }
}

std::vector<int64_t> toShape(const Napi::Value& value) {
  auto array = value.As<Napi::Array>();
  std::vector<int64_t> shape(array.Length());
  for (uint32_t i = 0; i < array.Length(); i++) shape[i] = array.Get(i).As<Napi::Number>().Int64Value();
  return shape;
}

Napi::Value create(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto values = info[0].As<Napi::TypedArray>();
    auto shape = toShape(info[1]);
    at::ScalarType type = scalarTypeOf(info[2].As<Napi::String>().Utf8Value());
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(type));
    size_t bytes = t.numel() * t.element_size();
    if (values.ByteLength() != bytes) {
      throw std::invalid_argument("torch backend: " + std::to_string(values.ByteLength()) + " bytes of values for a tensor of " +
                                  std::to_string(bytes) + " bytes");
    }
    auto buffer = values.ArrayBuffer();
    if (bytes > 0) std::memcpy(t.data_ptr(), static_cast<uint8_t*>(buffer.Data()) + values.ByteOffset(), bytes);
    return Napi::Number::New(info.Env(), table().add(std::move(t)));
  });
}

Napi::Value read(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    at::Tensor t = table().get(info[0].As<Napi::Number>().Uint32Value()).contiguous();
    size_t n = t.numel();
    size_t bytes = n * t.element_size();
    auto buffer = Napi::ArrayBuffer::New(env, bytes);
    if (bytes > 0) std::memcpy(buffer.Data(), t.data_ptr(), bytes);
    switch (t.scalar_type()) {
      case at::kFloat: return Napi::Float32Array::New(env, n, buffer, 0);
      case at::kInt: return Napi::Int32Array::New(env, n, buffer, 0);
      case at::kBool: return Napi::Uint8Array::New(env, n, buffer, 0);
      default: throw std::invalid_argument("torch backend: cannot read dtype " + std::string(c10::toString(t.scalar_type())));
    }
  });
}

Napi::Value dispose(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    table().remove(info[0].As<Napi::Number>().Uint32Value());
    return info.Env().Undefined();
  });
}

Attrs toAttrs(const Napi::Object& object) {
  Attrs attrs;
  auto keys = object.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); i++) {
    std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
    Napi::Value v = object.Get(key);
    Attr attr;
    if (v.IsNumber()) attr.number = v.As<Napi::Number>().DoubleValue();
    else if (v.IsBoolean()) attr.number = v.As<Napi::Boolean>().Value() ? 1 : 0;
    else if (v.IsString()) attr.text = v.As<Napi::String>().Utf8Value();
    else if (v.IsArray()) {
      auto array = v.As<Napi::Array>();
      bool numeric = true;
      for (uint32_t j = 0; j < array.Length() && numeric; j++) {
        Napi::Value item = array.Get(j);
        if (item.IsNumber()) attr.list.push_back(item.As<Napi::Number>().DoubleValue());
        else if (item.IsBoolean()) attr.list.push_back(item.As<Napi::Boolean>().Value() ? 1 : 0);
        else numeric = false;
      }
      if (!numeric) continue;  // nested lists are normalised on the TypeScript side
    } else continue;  // null / undefined / objects: absent
    attrs.values.emplace(key, std::move(attr));
  }
  return attrs;
}

Napi::Value run(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    std::string name = info[0].As<Napi::String>().Utf8Value();
    const auto& kernels = kernelTable();
    auto kernel = kernels.find(name);
    if (kernel == kernels.end()) throw std::invalid_argument("torch backend: no native kernel " + name);
    auto handles = info[1].As<Napi::Array>();
    Tensors inputs(handles.Length());
    for (uint32_t i = 0; i < handles.Length(); i++) {
      int64_t h = handles.Get(i).As<Napi::Number>().Int64Value();
      if (h >= 0) inputs[i] = table().get(static_cast<uint32_t>(h));
    }
    Attrs attrs = toAttrs(info[2].As<Napi::Object>());
    Tensors outputs;
    {
      at::NoGradGuard noGrad;  // TensorFlow.js does its own autodiff
      outputs = kernel->second(inputs, attrs);
      for (auto& t : outputs) t = toTfjsDtype(t);
    }
    auto result = Napi::Array::New(env, outputs.size());
    for (uint32_t i = 0; i < outputs.size(); i++) {
      const at::Tensor& t = outputs[i];
      auto entry = Napi::Array::New(env, 3);
      auto shape = Napi::Array::New(env, t.dim());
      for (int64_t d = 0; d < t.dim(); d++) shape.Set(static_cast<uint32_t>(d), Napi::Number::New(env, static_cast<double>(t.size(d))));
      entry.Set(1u, Napi::String::New(env, dtypeName(t.scalar_type())));
      entry.Set(2u, shape);
      result.Set(i, entry);
    }
    // Handles are taken only once every output converted, so a failure leaks nothing.
    for (uint32_t i = 0; i < outputs.size(); i++) {
      result.Get(i).As<Napi::Array>().Set(0u, Napi::Number::New(env, table().add(outputs[i])));
    }
    return result;
  });
}

Napi::Value kernelNames(const Napi::CallbackInfo& info) {
  auto names = Napi::Array::New(info.Env());
  uint32_t i = 0;
  for (const auto& entry : kernelTable()) names.Set(i++, Napi::String::New(info.Env(), entry.first));
  return names;
}

Napi::Value liveTensors(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(table().live()));
}

/** OpenBLAS's own thread control, looked up in whichever libblas libtorch loaded. */
void* openblasSymbol(const char* name, std::string* source) {
  for (const char* lib : {"libopenblas.so.0", "libblas.so.3"}) {
    void* handle = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD);
    if (!handle) continue;
    void* symbol = dlsym(handle, name);
    if (symbol) {
      if (source) *source = lib;
      return symbol;
    }
  }
  void* symbol = dlsym(RTLD_DEFAULT, name);
  if (symbol && source) *source = "global";
  return symbol;
}

Napi::Value setNumThreads(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    int intraOp = info[0].As<Napi::Number>().Int32Value();
    int blas = info[1].As<Napi::Number>().Int32Value();
    if (intraOp > 0) at::set_num_threads(intraOp);
    auto setBlas = reinterpret_cast<void (*)(int)>(openblasSymbol("openblas_set_num_threads", nullptr));
    if (setBlas && blas > 0) setBlas(blas);
    return Napi::Boolean::New(info.Env(), setBlas != nullptr);
  });
}

Napi::Value threads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto result = Napi::Object::New(env);
  result.Set("intraOp", at::get_num_threads());
  result.Set("interOp", at::get_num_interop_threads());
  std::string source = "not found";
  auto getBlas = reinterpret_cast<int (*)()>(openblasSymbol("openblas_get_num_threads", &source));
  result.Set("blas", getBlas ? Napi::Value(Napi::Number::New(env, getBlas())) : env.Null());
  result.Set("blasSource", source);
  auto config = reinterpret_cast<char* (*)()>(openblasSymbol("openblas_get_config", nullptr));
  result.Set("blasConfig", config ? Napi::Value(Napi::String::New(env, config())) : env.Null());
  result.Set("parallelInfo", at::get_parallel_info());
  return result;
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("create", Napi::Function::New(env, create));
  exports.Set("read", Napi::Function::New(env, read));
  exports.Set("dispose", Napi::Function::New(env, dispose));
  exports.Set("run", Napi::Function::New(env, run));
  exports.Set("kernelNames", Napi::Function::New(env, kernelNames));
  exports.Set("liveTensors", Napi::Function::New(env, liveTensors));
  exports.Set("setNumThreads", Napi::Function::New(env, setNumThreads));
  exports.Set("threads", Napi::Function::New(env, threads));
  exports.Set("torchVersion", Napi::String::New(env, TORCH_VERSION));
  return exports;
}

}  // namespace
}  // namespace inntrospect

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return inntrospect::init(env, exports); }

NODE_API_MODULE(inntrospect_torch, InitAddon)
