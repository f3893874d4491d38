// Text form of a kernel program (sherry-asm prints it, lowering traces print it after each step).
#pragma once

#include <string>

#include "ir/program.h"

namespace sherry::ir {

std::string print_program(const Program& program);

}  // namespace sherry::ir
