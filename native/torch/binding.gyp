# Builds inntrospect's libtorch addon against Debian's system libtorch (libtorch-dev 1.13.1).
# Run through `npm run build:native` (scripts/build-native.mjs), not at install time.
# -fopenmp: at::parallel_for is a header template, so its `#pragma omp parallel` is compiled here;
# without the flag it silently runs serially (libtorch 1.13 is built with AT_PARALLEL_OPENMP).
{
  "targets": [
    {
      "target_name": "inntrospect_torch",
      "sources": ["src/addon.cc", "src/kernels.cc", "src/adam.cc", "src/coupling.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "/usr/include/torch/csrc/api/include"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O2", "-fopenmp", "-Wno-unused-parameter", "-Wno-deprecated-declarations", "-ffp-contract=off", "-fno-math-errno"],
      "libraries": ["-ltorch", "-ltorch_cpu", "-lc10", "-ldl", "-fopenmp"]
    }
  ]
}
