// Whole-file reads and atomic writes with errors that name the file.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"

namespace sherry::corpus {

Result<std::vector<uint8_t>> read_file_bytes(const std::string& path);
// Writes to "<path>.tmp.<pid>", fsyncs, renames over path: readers never see a partial file.
Status write_file_atomic(const std::string& path, std::span<const uint8_t> bytes);
Status write_text_atomic(const std::string& path, const std::string& text);

}  // namespace sherry::corpus
