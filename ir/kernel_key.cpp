#include "ir/kernel_key.h"

#include <fmt/format.h>

#include <tuple>

namespace sherry::ir {
namespace {

void hash_combine(size_t& seed, uint64_t value) {
  seed ^= std::hash<uint64_t>{}(value) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
}

std::string scale_tag(const WeightLayout& layout) {
  switch (layout.granularity) {
    case ScaleGranularity::kGroup:
      return fmt::format("g{}", layout.group_size);
    case ScaleGranularity::kChannel:
      return "gch";
    case ScaleGranularity::kTensor:
      return "gt";
  }
  return "g?";
}

}  // namespace

size_t KernelKeyHash::operator()(const KernelKey& key) const {
  size_t seed = 0;
  std::apply([&](const auto&... field) { (hash_combine(seed, static_cast<uint64_t>(field)), ...); },
             key.fields());
  return seed;
}

// lut<op>_s125<scale><grouping>_<table>[_acc]__<isa>_m<M>_k<K>[_n<N>]_t<tile>[_p<prefetch>]
// dotgemm_s125<scale><grouping>[_acc]__<isa>_m<M>_k<K>_n<N>_t<tile>[_p<prefetch>]_b<tokens>
//   [_kb<groups>]
std::string kernel_name(const KernelKey& key) {
  // Fields named below: op, isa, m, k, n_tile (gemm), the layout's grouping, granularity and
  // group size, table (lookup kernels: a dot kernel has no tables), output, row tile, prefetch,
  // token block and k block (dot kernels); activation has a single value, so no tag yet (a
  // second value needs one). A new KernelKey field must be added here.
  static_assert(std::tuple_size_v<decltype(key.fields())> == 15,
                "kernel_name must name every KernelKey field");
  const char grouping = key.layout.grouping == BlockGrouping::kContiguous ? 'c' : 's';
  const bool dot = key.op == KernelOp::kDotGemm;
  std::string name = dot ? fmt::format("dotgemm_s125{}{}", scale_tag(key.layout), grouping)
                         : fmt::format("lut{}_s125{}{}_{}", to_string(key.op),
                                       scale_tag(key.layout), grouping, to_string(key.table));
  if (key.output == OutputMode::kAccumulators) name += "_acc";
  name += fmt::format("__{}_m{}_k{}", to_string(key.isa), key.m, key.k);
  if (key.op != KernelOp::kGemv) name += fmt::format("_n{}", key.n_tile);
  name += fmt::format("_t{}", key.tuning.row_tile);
  if (key.tuning.prefetch > 0) name += fmt::format("_p{}", key.tuning.prefetch);
  if (key.tuning.token_block > 0) name += fmt::format("_b{}", key.tuning.token_block);
  if (key.tuning.k_block > 0) name += fmt::format("_kb{}", key.tuning.k_block);
  return name;
}

std::string_view to_string(KernelOp op) {
  switch (op) {
    case KernelOp::kGemv:
      return "gemv";
    case KernelOp::kGemm:
      return "gemm";
    case KernelOp::kDotGemm:
      return "dotgemm";
  }
  return "unknown";
}

std::string_view to_string(Isa isa) {
  for (const IsaName& entry : kIsaNames) {
    if (entry.isa == isa) return entry.name;
  }
  return "unknown";
}

std::string_view to_string(TablePrecision table) {
  switch (table) {
    case TablePrecision::kInt16Exact:
      return "i16";
    case TablePrecision::kInt8Lossy:
      return "i8";
  }
  return "unknown";
}

std::string_view to_string(OutputMode output) {
  switch (output) {
    case OutputMode::kFloat:
      return "float";
    case OutputMode::kAccumulators:
      return "acc";
  }
  return "unknown";
}

Result<Isa> parse_isa(std::string_view text) {
  std::string names;
  for (const IsaName& entry : kIsaNames) {
    if (text == entry.name) return entry.isa;
    names += names.empty() ? "" : (&entry == &kIsaNames[std::size(kIsaNames) - 1] ? " or " : ", ");
    names += entry.name;
  }
  return make_error("unknown ISA '{}': expected {}", text, names);
}

Result<KernelOp> parse_kernel_op(std::string_view text) {
  if (text == "gemv") return KernelOp::kGemv;
  if (text == "gemm") return KernelOp::kGemm;
  if (text == "dotgemm") return KernelOp::kDotGemm;
  return make_error("unknown kernel op '{}': expected gemv, gemm or dotgemm", text);
}

}  // namespace sherry::ir
