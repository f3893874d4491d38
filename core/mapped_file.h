// A whole regular file mapped read-only (MAP_PRIVATE), for the model file readers (GGUF,
// safetensors) that validate the bytes before handing anything out. Errors are values naming the
// file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/error.h"

namespace sherry {

class MappedFile {
 public:
  // Errors: "<path>: cannot open: <reason>", "cannot stat", "expected a regular file, found another
  // kind of file", "cannot map N bytes". An empty file maps to no bytes.
  static Result<MappedFile> open(const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const uint8_t> bytes() const { return {static_cast<const uint8_t*>(data_), size_}; }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace sherry
