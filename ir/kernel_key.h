// The kernel key: everything that changes the generated code of a LUT kernel, and nothing else.
// Plain, comparable, hashable. Its generated name (kernel_name) is the one string used in asm
// dumps, the perf map, test failures, benchmark rows and the tuning file, e.g.
//   lutgemv_s125g128c_i16__avx512vbmi_m2048_k8192_t64
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>

#include "core/error.h"
#include "core/weight_layout.h"

namespace sherry::ir {

enum class KernelOp : uint8_t {
  kGemv,  // one token per call (decode)
  kGemm,  // n_tile tokens per call (prefill), the weight stream is read once for all of them
  // Up to n_tile tokens per call (the count is an argument of the call): each row tile's codes
  // are decoded once into int8 weights, then multiplied by all the call's tokens with int8 dot
  // products (ir/program.h: DecodeWeights, DotAccumulate). The prefill GEMM for many tokens.
  kDotGemm,
};

// Code paths, each a feature set (jit/cpu_detect.h lists the CPU features each one requires).
// kScalar is the portable reference path; kNeon (Advanced SIMD tbl) and kDotprod (sdot) are the
// AArch64 paths (jit/a64/); kAvx2Vnni is AVX2 with AVX-VNNI (VEX vpdpbusd, the dot GEMM family).
enum class Isa : uint8_t {
  kScalar,
  kSsse3,
  kAvx2,
  kAvx512bw,
  kAvx512vbmi,
  kNeon,
  kDotprod,
  kAvx2Vnni
};
// Each ISA's name (kernel names, SHERRY_MAX_ISA, --isa): the one list to_string and parse_isa read.
struct IsaName {
  Isa isa;
  std::string_view name;
};
inline constexpr IsaName kIsaNames[] = {
    {Isa::kScalar, "scalar"},     {Isa::kSsse3, "ssse3"},           {Isa::kAvx2, "avx2"},
    {Isa::kAvx512bw, "avx512bw"}, {Isa::kAvx512vbmi, "avx512vbmi"}, {Isa::kNeon, "neon"},
    {Isa::kDotprod, "dotprod"},   {Isa::kAvx2Vnni, "avx2vnni"},
};

// How activations are quantized before the tables are built (core/activation_quant.h).
enum class ActivationQuant : uint8_t { kPerTokenI8 };

// Precision of the lookup-table entries. Entries are sums of three int8 activations (±381):
// int16 holds them exactly; int8 tables are requantized per token and scale group (ir/tables.h),
// lossy but half the lookups.
enum class TablePrecision : uint8_t { kInt16Exact, kInt8Lossy };

// What the kernel writes: fp32 outputs, or the exact int32 accumulator of every scale group
// (the testing entry: compared bit-exactly with core's reference_accumulate_i32).
enum class OutputMode : uint8_t { kFloat, kAccumulators };

// Tuning::prefetch of a key that takes its path's measured default (jit/paths.h).
inline constexpr int64_t kPathDefaultPrefetch = -1;

struct Tuning {
  int64_t row_tile = 0;  // rows per tile (0: the ISA's default)
  // Weight prefetch distance in bytes ahead of the stream (0: none; kPathDefaultPrefetch: the
  // path's default, which resolving a key fills in).
  int64_t prefetch = kPathDefaultPrefetch;
  // kDotGemm only (0 elsewhere; 0 in a request: the path's default): tokens held in registers
  // per block, and scale groups decoded per panel (the K block kept in cache while every token
  // block of the call runs over it).
  int64_t token_block = 0;
  int64_t k_block = 0;

  bool operator==(const Tuning&) const = default;
};

struct KernelKey {
  KernelOp op = KernelOp::kGemv;
  Isa isa = Isa::kScalar;
  int64_t m = 0;       // rows (output features)
  int64_t k = 0;       // cols (input features)
  int64_t n_tile = 1;  // tokens per call: 1 for GEMV
  WeightLayout layout;
  ActivationQuant activation = ActivationQuant::kPerTokenI8;
  TablePrecision table = TablePrecision::kInt16Exact;
  OutputMode output = OutputMode::kFloat;
  Tuning tuning;

  // Every field, in one list: equality, the hash and kernel_name are derived from it (a
  // static_assert in kernel_key.cpp makes kernel_name account for each), so a new field added
  // here cannot be missed by one of them.
  auto fields() const {
    return std::tie(op, isa, m, k, n_tile, layout.grouping, layout.granularity, layout.group_size,
                    activation, table, output, tuning.row_tile, tuning.prefetch, tuning.token_block,
                    tuning.k_block);
  }
  auto fields() {
    return std::tie(op, isa, m, k, n_tile, layout.grouping, layout.granularity, layout.group_size,
                    activation, table, output, tuning.row_tile, tuning.prefetch, tuning.token_block,
                    tuning.k_block);
  }
  bool operator==(const KernelKey& other) const { return fields() == other.fields(); }
};

struct KernelKeyHash {
  size_t operator()(const KernelKey& key) const;
};

std::string kernel_name(const KernelKey& key);

std::string_view to_string(KernelOp op);           // "gemv" | "gemm" | "dotgemm"
std::string_view to_string(Isa isa);               // "scalar" | "ssse3" | "avx2" | ...
std::string_view to_string(TablePrecision table);  // "i16" | "i8"
std::string_view to_string(OutputMode output);     // "float" | "acc"
Result<Isa> parse_isa(std::string_view text);
Result<KernelOp> parse_kernel_op(std::string_view text);

}  // namespace sherry::ir
