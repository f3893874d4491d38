# Cross-compiles sherry for AArch64 Linux on an x86-64 Debian host (scripts/cross_aarch64.sh).
# Dependencies come from Debian's multiarch arm64 packages (libfmt-dev:arm64, ...), found under
# /usr/lib/aarch64-linux-gnu through CMAKE_LIBRARY_ARCHITECTURE; header-only packages
# (doctest, nlohmann-json, CLI11) are architecture-independent. Test binaries run under
# qemu-aarch64 through CMAKE_CROSSCOMPILING_EMULATOR, so plain ctest works in the cross build dir.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# The arm64 libc and libstdc++ (libc6:arm64, pulled in by the multiarch packages) live at the
# standard multiarch paths, so qemu-aarch64 finds the loader without -L.
find_program(SHERRY_QEMU_AARCH64 qemu-aarch64 REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR ${SHERRY_QEMU_AARCH64})

# pkg-config must see only the arm64 .pc files (sentencepiece).
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
