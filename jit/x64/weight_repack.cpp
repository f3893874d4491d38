#include "jit/x64/weight_repack.h"

#include <cstring>
#include <vector>

namespace sherry::jit::x64 {
namespace {

// Row-major codes (m_pad × k_pad/4), zero for padding rows and blocks.
std::vector<uint8_t> unpack_codes(const PackedTensorView& w, const KernelLayout& layout) {
  const int64_t blocks = layout.k_pad / kWeightsPerBlock;
  std::vector<uint8_t> codes(static_cast<size_t>(layout.m_pad * blocks), 0);
  for (int64_t m = 0; m < w.rows; ++m) {
    for (int64_t b = 0; b < w.blocks_per_row(); ++b) codes[m * blocks + b] = w.code(m, b);
  }
  return codes;
}

int32_t negative_blocks(const std::vector<uint8_t>& codes, int64_t blocks, int64_t row,
                        int64_t first, int64_t count) {
  int32_t negatives = 0;
  for (int64_t b = first; b < first + count; ++b) negatives += code_sign(codes[row * blocks + b]);
  return negatives;
}

// A header's 1- or 2-byte count field (the layout chose the width that holds the value).
void store_count(uint8_t* at, int64_t bytes, int32_t value) {
  if (bytes == 1) {
    *at = static_cast<uint8_t>(value);
  } else {
    const auto wide = static_cast<uint16_t>(value);
    std::memcpy(at, &wide, 2);
  }
}

// The header of group g of a tile: α (fp16) per row, then count(negatives) per row; padding
// rows stay 0.
template <class Count>
void write_group_header(const PackedTensorView& w, const KernelLayout& layout,
                         const std::vector<uint8_t>& codes, int64_t tile, int64_t g,
                         uint8_t* header, Count count) {
  const int64_t blocks = layout.k_pad / kWeightsPerBlock;
  const int64_t blocks_per_group = blocks / layout.groups;
  const int64_t rows = layout.row_tile;
  for (int64_t r = 0; r < rows && tile * rows + r < w.rows; ++r) {
    const int64_t row = tile * rows + r;
    const uint16_t alpha = w.scale_bits(row, g);  // fp16 as stored: exact
    std::memcpy(header + 2 * r, &alpha, 2);
    const int32_t negatives =
        negative_blocks(codes, blocks, row, g * blocks_per_group, blocks_per_group);
    store_count(header + 2 * rows + r * layout.count_bytes, layout.count_bytes,
                count(negatives, blocks_per_group));
  }
}

// kNibblePlanes: per tile, per group, the record of x64_kernel.h.
void repack_planes(const PackedTensorView& w, const KernelLayout& layout,
                   const std::vector<uint8_t>& codes, uint8_t* out) {
  const int64_t blocks = layout.k_pad / kWeightsPerBlock;
  const int64_t rows = layout.row_tile;
  const int64_t vb = layout.vector_bytes;
  const int64_t row_vectors = rows / vb;
  const int64_t blocks_per_group = blocks / layout.groups;
  for (int64_t tile = 0; tile < layout.tiles; ++tile) {
    const int64_t row0 = tile * rows;
    for (int64_t g = 0; g < layout.groups; ++g) {
      uint8_t* record = out + (tile * layout.groups + g) * layout.group_weight_bytes;
      write_group_header(w, layout, codes, tile, g, record,
                         [](int32_t negatives, int64_t) { return negatives; });
      for (int64_t s = 0; s < blocks_per_group / 4; ++s) {
        uint8_t* step = record + layout.header_bytes + s * layout.step_weight_bytes;
        for (int64_t j = 0; j < 4; ++j) {
          for (int64_t rv = 0; rv < row_vectors; ++rv) {
            const int64_t c = j * row_vectors + rv;
            uint8_t* nibbles = step + c / 2 * vb;
            uint8_t* signs = step + layout.step_sign_offset + c / 8 * vb;
            for (int64_t i = 0; i < vb; ++i) {
              const uint8_t code = codes[(row0 + rv * vb + code_byte_row(vb, i)) * blocks +
                                         g * blocks_per_group + 4 * s + j];
              nibbles[i] |= static_cast<uint8_t>(code_slot(code) << (4 * (c % 2)));
              signs[i] |= static_cast<uint8_t>(code_sign(code) << (c % 8));
            }
          }
        }
      }
    }
  }
}

// kNibblesSignMasks (x64_kernel.h): the weights per tile and step, 80 bytes per 32 rows; the
// headers per tile and group, holding −Σ signs (Σ signs = blocks − 2·negatives; padding blocks
// count as sign +1).
void repack_sign_masks(const PackedTensorView& w, const KernelLayout& layout,
                       const std::vector<uint8_t>& codes, uint8_t* out, uint8_t* headers) {
  const int64_t blocks = layout.k_pad / kWeightsPerBlock;
  const int64_t rows = layout.row_tile;
  auto code = [&](int64_t row, int64_t block) { return codes[row * blocks + block]; };
  for (int64_t tile = 0; tile < layout.tiles; ++tile) {
    const int64_t row0 = tile * rows;
    for (int64_t s = 0; s < blocks / 4; ++s) {
      for (int64_t p = 0; p < rows / 32; ++p) {
        uint64_t sign_a = 0, sign_b = 0;
        for (int64_t i = 0; i < 64; ++i) {
          const uint8_t a = code(row0 + 32 * p + i / 4, 4 * s + i % 4);
          const uint8_t b = code(row0 + 32 * p + 16 + i / 4, 4 * s + i % 4);
          out[i] = static_cast<uint8_t>(code_slot(a) | code_slot(b) << 4);
          sign_a |= static_cast<uint64_t>(code_sign(a)) << i;
          sign_b |= static_cast<uint64_t>(code_sign(b)) << i;
        }
        std::memcpy(out + 64, &sign_a, 8);
        std::memcpy(out + 72, &sign_b, 8);
        out += 80;
      }
    }
    for (int64_t g = 0; g < layout.groups; ++g) {
      write_group_header(w, layout, codes, tile, g,
                         headers + (tile * layout.groups + g) * layout.header_bytes,
                         [](int32_t negatives, int64_t group_blocks) {
                           return static_cast<int32_t>(2 * negatives - group_blocks);
                         });
    }
  }
}

}  // namespace

RepackedWeights repack_weights(const PackedTensorView& w, const KernelLayout& layout) {
  SHERRY_CHECK(w.rows <= layout.m_pad && w.cols <= layout.k_pad);
  const int64_t blocks = layout.k_pad / kWeightsPerBlock;
  const int64_t steps = blocks / 4;
  const int64_t rows = layout.row_tile;
  const int64_t blocks_per_group = blocks / layout.groups;
  const std::vector<uint8_t> codes = unpack_codes(w, layout);
  auto code = [&](int64_t row, int64_t block) { return codes[row * blocks + block]; };

  RepackedWeights r;
  r.weights.resize(static_cast<size_t>(layout.tiles * layout.tile_weight_bytes +
                                       layout.step_weight_bytes + 4096));
  if (layout.format == WeightFormat::kNibblePlanes) {
    repack_planes(w, layout, codes, r.weights.data());  // the buffer starts zeroed
    return r;
  }
  if (layout.format == WeightFormat::kNibblesSignMasks) {
    r.headers.resize(static_cast<size_t>(layout.tiles * layout.groups * layout.header_bytes));
    repack_sign_masks(w, layout, codes, r.weights.data(), r.headers.data());
    return r;
  }
  SHERRY_CHECK(layout.format == WeightFormat::kCodeBytes);
  r.alpha.resize(static_cast<size_t>(layout.tiles * layout.groups * rows));
  r.nneg.resize(static_cast<size_t>(layout.tiles * layout.groups * rows));
  uint8_t* out = r.weights.data();
  for (int64_t tile = 0; tile < layout.tiles; ++tile) {
    const int64_t row0 = tile * rows;
    const int64_t vb = layout.vector_bytes;
    for (int64_t s = 0; s < steps; ++s) {
      for (int64_t j = 0; j < 4; ++j) {
        for (int64_t g = 0; g < rows / vb; ++g) {
          for (int64_t i = 0; i < vb; ++i) {
            *out++ = code(row0 + g * vb + code_byte_row(vb, i), 4 * s + j);
          }
        }
      }
    }
    for (int64_t g = 0; g < layout.groups; ++g) {
      for (int64_t r_in = 0; r_in < rows; ++r_in) {
        const int64_t row = row0 + r_in;
        const size_t at = static_cast<size_t>((tile * layout.groups + g) * rows + r_in);
        if (row >= w.rows) continue;  // padding rows: α 0, never read back
        r.alpha[at] = w.scale(row, g);
        r.nneg[at] = negative_blocks(codes, blocks, row, g * blocks_per_group, blocks_per_group);
      }
    }
  }
  SHERRY_CHECK(out == r.weights.data() + layout.tiles * layout.tile_weight_bytes);
  return r;
}

}  // namespace sherry::jit::x64
