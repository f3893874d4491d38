// Data parallelism across processes. With MPI (built when CMake finds OpenMPI) every process
// computes gradients of its slice of the global batch and an all-reduce sums them; without MPI,
// or when started without mpirun, there is one process and every call is the identity.
#pragma once

#include <cstdint>

namespace sherry::train {

class Distributed {
 public:
  // Initializes MPI when available (safe to construct once per process).
  Distributed();
  ~Distributed();
  Distributed(const Distributed&) = delete;
  Distributed& operator=(const Distributed&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }
  static bool compiled_with_mpi();

  // In-place sum over all processes.
  void all_reduce_sum(float* data, int64_t count);
  void all_reduce_sum(double* data, int64_t count);
  // Root's values to everyone.
  void broadcast(float* data, int64_t count);
  void barrier();

 private:
  int rank_ = 0;
  int size_ = 1;
  bool initialized_here_ = false;
};

}  // namespace sherry::train
