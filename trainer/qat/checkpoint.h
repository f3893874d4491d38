// Training checkpoints: everything a run needs to continue bit-for-bit (parameters, AdamW
// moments, the data-order RNG, the step), written atomically (temporary file, fsync, rename).
//
//   offset  size  field
//        0     8  magic "SHRYCKPT"
//        8     4  version (1)
//       12     4  reserved, 0
//       16     8  header_bytes: length of the JSON header that follows
//       24     …  JSON header: {"step", "rng_state", "tokens_seen", "parameter_count", "config"}
//        …        parameters, AdamW m, AdamW v: parameter_count little-endian floats each
//        …     8  FNV-1a 64 checksum of every byte before it
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace sherry::train {

struct Checkpoint {
  int64_t step = 0;        // optimizer steps completed
  uint64_t rng_state = 0;  // data-order RNG after those steps
  int64_t tokens_seen = 0;
  nlohmann::json config;  // the TrainConfig of the run (train_config_to_json)
  std::vector<float> params;
  std::vector<float> adam_m;
  std::vector<float> adam_v;
};

std::vector<uint8_t> serialize_checkpoint(const Checkpoint& checkpoint);
// Every field is validated; errors name `name`, the field, the expectation and the value found.
Result<Checkpoint> parse_checkpoint(const std::vector<uint8_t>& bytes, const std::string& name);

Status write_checkpoint(const std::string& path, const Checkpoint& checkpoint);
Result<Checkpoint> read_checkpoint(const std::string& path);

// <dir>/ckpt_00000100.bin for step 100.
std::string checkpoint_path(const std::string& dir, int64_t step);
// The checkpoint of the highest step in dir, if any.
std::optional<std::string> latest_checkpoint(const std::string& dir);
// Deletes all but the `keep` highest-step checkpoints.
void prune_checkpoints(const std::string& dir, int keep);

}  // namespace sherry::train
