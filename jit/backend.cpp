#include "jit/backend.h"

#include "jit/a64/a64_backend.h"
#if defined(SHERRY_X86_64)
#include "jit/x64/x64_backend.h"
#endif

namespace sherry::jit {

const Backend* backend_for(ir::Isa isa) {
  switch (isa_path(isa).backend) {
    case BackendKind::kReference:
      return nullptr;
    case BackendKind::kX64:
#if defined(SHERRY_X86_64)
      return &x64::x64_backend();
#else
      return nullptr;
#endif
    case BackendKind::kA64:
      return &a64::a64_backend();
  }
  return nullptr;
}

}  // namespace sherry::jit
