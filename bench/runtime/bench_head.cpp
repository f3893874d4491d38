// bench_head [--rows 128256] [--cols 2048] [--threads 1,2] [--tokens 1]
//            [--types q8_0-float,q8_0-int8,q6_k,q5_k,q4_k,f16] [--min-time 2]
// The LM head alone, per weight type side by side, as the model runs it (LinearLayer::forward:
// activation quantization included, rows split across the pool): one JSON line per type and
// thread count with the best and median microseconds per call over calls lasting --min-time, the
// weight bytes one call reads and the resulting GB/s. The default shape is Llama 3.2 1B's head
// (vocab 128256 × hidden 2048): 150 to 525 MB of weights, far beyond any cache, so every call
// reads them from DRAM. q8_0-float is float activations against the Q8_0 blocks (float_gemm),
// q8_0-int8 the int8 GEMM (SHERRY_Q8_0_ACTIVATIONS=int8); the K-quants always take int8.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "bench/common/bench_clock.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "jit/cpu_detect.h"
#include "runtime/float_kernels.h"
#include "runtime/k_quants.h"
#include "runtime/linear_layer.h"

namespace {

using namespace sherry;
using namespace sherry::runtime;
using bench::Clock;
using bench::seconds_since;
struct HeadType {
  std::string name;  // as --types names it
  FloatType type;
  const char* q8_0_activations;  // SHERRY_Q8_0_ACTIVATIONS for the layer ("float" unless Q8_0)
};

// Random weights of a type: random bytes with every fp16 scale set to an ordinary value (random
// bit patterns would give infinities, NaN and subnormals, which some CPUs compute slowly), F16 a
// random pattern of finite halves below 1. The kernels' work does not depend on the values.
std::vector<uint8_t> random_matrix(FloatType type, int64_t rows, int64_t cols) {
  const FloatMatrix shape{type, rows, cols, nullptr};
  const auto bytes = static_cast<size_t>(rows * shape.row_bytes());
  std::vector<uint8_t> w(bytes);
  std::mt19937_64 rng(1);
  for (size_t i = 0; i + 8 <= bytes; i += 8) {
    const uint64_t r = rng();
    std::memcpy(w.data() + i, &r, 8);
  }
  const uint16_t scale = float_to_fp16(0.01f);
  const auto set_half = [&](size_t offset, uint16_t h) { std::memcpy(w.data() + offset, &h, 2); };
  size_t block = 0, offsets[2] = {0, 0};
  int count = 0;
  switch (type) {
    case FloatType::kQ8_0:
      block = sizeof(Q8_0Block), offsets[0] = 0, count = 1;
      break;
    case FloatType::kQ4_K:
      block = sizeof(Q4_KBlock), offsets[0] = 0, offsets[1] = 2, count = 2;
      break;
    case FloatType::kQ5_K:
      block = sizeof(Q5_KBlock), offsets[0] = 0, offsets[1] = 2, count = 2;
      break;
    case FloatType::kQ6_K:
      block = sizeof(Q6_KBlock), offsets[0] = offsetof(Q6_KBlock, d), count = 1;
      break;
    case FloatType::kF16:
      for (size_t i = 0; i + 2 <= bytes; i += 2) {
        uint16_t h;
        std::memcpy(&h, w.data() + i, 2);
        set_half(i, static_cast<uint16_t>(h & 0xbbff));  // exponent below 15: |x| < 1, finite
      }
      return w;
    case FloatType::kF32:
    case FloatType::kBF16:
      return w;
  }
  for (size_t b = 0; b + block <= bytes; b += block) {
    for (int k = 0; k < count; ++k) set_half(b + offsets[k], scale);
  }
  return w;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 128256;
  int64_t cols = 2048;
  int64_t tokens = 1;
  double min_time = 2.0;
  std::vector<int> threads = {1, 2};
  std::vector<std::string> types = {"q8_0-float", "q8_0-int8", "q6_k", "q5_k", "q4_k", "f16"};
  CLI::App app{"bench_head: the LM head per weight type (GEMV/GEMM time, weight GB/s)"};
  app.add_option("--rows", rows, "head rows (vocabulary)")->check(CLI::PositiveNumber);
  app.add_option("--cols", cols, "head columns (hidden size, a multiple of 256)")
      ->check(CLI::PositiveNumber);
  app.add_option("--tokens", tokens, "tokens per call (1: decode)")->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "thread counts")->delimiter(',');
  app.add_option("--types", types, "q8_0-float, q8_0-int8, q6_k, q5_k, q4_k, f16")
      ->delimiter(',')
      ->check(CLI::IsMember({"q8_0-float", "q8_0-int8", "q6_k", "q5_k", "q4_k", "f16"}));
  app.add_option("--min-time", min_time, "seconds of calls per row")->check(CLI::PositiveNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (cols % kKQuantBlockWeights != 0) {
    fmt::print(stderr, "error: --cols: expected a multiple of 256, found {}\n", cols);
    return 2;
  }
  const std::vector<HeadType> known = {
      {"q8_0-float", FloatType::kQ8_0, "float"}, {"q8_0-int8", FloatType::kQ8_0, "int8"},
      {"q6_k", FloatType::kQ6_K, "float"},       {"q5_k", FloatType::kQ5_K, "float"},
      {"q4_k", FloatType::kQ4_K, "float"},       {"f16", FloatType::kF16, "float"}};
  const std::string cpu = jit::host_cpu().brand;
  std::mt19937 rng(2);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(tokens * cols));
  for (float& v : x) v = normal(rng);
  std::vector<float> y(static_cast<size_t>(tokens * rows));
  for (const std::string& name : types) {
    const HeadType& head = *std::find_if(known.begin(), known.end(),
                                         [&](const HeadType& h) { return h.name == name; });
    const std::vector<uint8_t> weights = random_matrix(head.type, rows, cols);
    setenv("SHERRY_Q8_0_ACTIVATIONS", head.q8_0_activations, 1);
    for (const int t : threads) {
      ThreadPool pool(t);
      LinearLayer layer =
          LinearLayer::from_float({head.type, rows, cols, weights.data()}, &pool, tokens);
      layer.forward(x.data(), tokens, y.data());  // warm-up: pages, pool, caches
      std::vector<double> calls;
      const auto start = Clock::now();
      while (seconds_since(start) < min_time || calls.size() < 5) {
        const auto t0 = Clock::now();
        layer.forward(x.data(), tokens, y.data());
        calls.push_back(seconds_since(t0));
      }
      std::sort(calls.begin(), calls.end());
      const double best = calls.front();
      const double median = calls[calls.size() / 2];
      const double bytes = static_cast<double>(layer.weight_bytes());
      fmt::print(
          "{{\"bench\":\"head\",\"type\":\"{}\",\"kernel\":\"{}\",\"rows\":{},\"cols\":{},"
          "\"tokens\":{},\"threads\":{},\"calls\":{},\"us\":{:.1f},\"us_median\":{:.1f},"
          "\"weight_bytes\":{},\"gb_s\":{:.2f},\"gb_s_median\":{:.2f},\"cpu\":\"{}\","
          "\"commit\":\"{}\"}}\n",
          head.name, layer.kernel_name(), rows, cols, tokens, t, calls.size(), best * 1e6,
          median * 1e6, layer.weight_bytes(), bytes / best / 1e9, bytes / median / 1e9, cpu,
          SHERRY_GIT_COMMIT);
      std::fflush(stdout);
    }
  }
  return 0;
}
