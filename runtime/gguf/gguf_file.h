// The GGUF container in one include: values (gguf_value.h), the validating reader
// (gguf_reader.h) and the atomic writer (gguf_writer.h). docs/gguf.md lists every check and the
// metadata keys sherry reads and writes.
#pragma once

#include "runtime/gguf/gguf_reader.h"
#include "runtime/gguf/gguf_types.h"
#include "runtime/gguf/gguf_value.h"
#include "runtime/gguf/gguf_writer.h"
