// Where the programs find a model when no -m is given: $SHERRY_MODEL, else models/default.gguf in
// the repository holding the executable (build/bin/<program> → ../../models), else in the working
// directory.
#pragma once

#include <string>

#include "core/error.h"

namespace sherry::runtime {

// The path, or an error saying how to get the default model.
Result<std::string> default_model_path();

}  // namespace sherry::runtime
