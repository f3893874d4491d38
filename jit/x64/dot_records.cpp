#include "jit/x64/dot_records.h"

#include <cstring>

#include "ir/tables.h"

namespace sherry::jit::x64 {

int64_t dot_record_bytes(int64_t k_pad, int64_t groups) {
  return (k_pad + 4 * groups + 63) / 64 * 64;
}

void build_dot_record(const KernelLayout& layout, BlockGrouping grouping, const int8_t* q,
                      int64_t k, uint8_t* record) {
  auto* permuted = reinterpret_cast<int8_t*>(record);
  ir::permute_to_block_order(grouping, q, k, layout.k_pad, permuted);
  const int64_t per_group = layout.k_pad / layout.groups;
  for (int64_t g = 0; g < layout.groups; ++g) {
    int32_t sum = 0;
    for (int64_t i = g * per_group; i < (g + 1) * per_group; ++i) sum += permuted[i];
    const int32_t start = -sum;
    std::memcpy(record + layout.k_pad + 4 * g, &start, sizeof(start));
  }
  const int64_t used = layout.k_pad + 4 * layout.groups;
  std::memset(record + used, 0, static_cast<size_t>(layout.table_bytes - used));
}

}  // namespace sherry::jit::x64
