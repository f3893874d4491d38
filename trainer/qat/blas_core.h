// Which OpenBLAS kernels a training process runs. Debian bookworm's OpenBLAS 0.3.21 does not know
// AMD Zen 4 / Zen 5 and runs its Haswell (AVX2) kernels there, at about half the speed of its
// AVX-512 (SkylakeX) kernels on the same CPU; environments that pin OPENBLAS_CORETYPE=Haswell
// for such CPUs (this build machine does) leave that speed unused too. OpenBLAS picks its kernels
// when the library loads, from OPENBLAS_CORETYPE, so the choice is made by setting that variable
// and executing the program again before it does anything else.
// SHERRY_KEEP_OPENBLAS_CORETYPE (any value) keeps whatever OpenBLAS chose.
#pragma once

#include <optional>
#include <string>

namespace sherry::train {

// "SkylakeX" when this CPU has AVX-512 F, CD, BW, DQ and VL but OpenBLAS runs kernels without
// AVX-512 (its own choice or OPENBLAS_CORETYPE's); nothing when SHERRY_KEEP_OPENBLAS_CORETYPE is
// set or this process is already the re-executed one.
std::optional<std::string> better_openblas_core();

// The kernels OpenBLAS runs ("Haswell", "SkylakeX", ...).
std::string openblas_core_name();

// At the top of main(), before MPI or threads start: when better_openblas_core() names a core,
// sets OPENBLAS_CORETYPE to it and executes /proc/self/exe with the same arguments (it returns
// only when that fails, and then the process goes on with the kernels it has).
void reexec_with_better_openblas_core(char** argv);

}  // namespace sherry::train
