#include "trainer/qat/distributed.h"

#include <algorithm>
#include <climits>
#include <cstdlib>

#ifdef SHERRY_WITH_MPI
#include <mpi.h>
#endif

namespace sherry::train {

#ifdef SHERRY_WITH_MPI
namespace {
// Only initialize MPI when a launcher started us: a plain run (tests, single process) must not
// need an MPI runtime. OpenMPI's launchers set OMPI_COMM_WORLD_SIZE; PMI_SIZE covers others.
bool launched_by_mpirun() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMI_SIZE") != nullptr;
}
}  // namespace

Distributed::Distributed() {
  if (!launched_by_mpirun()) return;
  int already = 0;
  MPI_Initialized(&already);
  if (!already) {
    MPI_Init(nullptr, nullptr);
    initialized_here_ = true;
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

Distributed::~Distributed() {
  if (initialized_here_) MPI_Finalize();
}

bool Distributed::compiled_with_mpi() {
  return true;
}

void Distributed::all_reduce_sum(float* data, int64_t count) {
  if (size_ == 1) return;
  for (int64_t done = 0; done < count;) {
    const int chunk = static_cast<int>(std::min<int64_t>(count - done, INT_MAX / 2));
    MPI_Allreduce(MPI_IN_PLACE, data + done, chunk, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    done += chunk;
  }
}

void Distributed::all_reduce_sum(double* data, int64_t count) {
  if (size_ == 1) return;
  MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(count), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

void Distributed::broadcast(float* data, int64_t count) {
  if (size_ == 1) return;
  for (int64_t done = 0; done < count;) {
    const int chunk = static_cast<int>(std::min<int64_t>(count - done, INT_MAX / 2));
    MPI_Bcast(data + done, chunk, MPI_FLOAT, 0, MPI_COMM_WORLD);
    done += chunk;
  }
}

void Distributed::barrier() {
  if (size_ > 1) MPI_Barrier(MPI_COMM_WORLD);
}
#else
Distributed::Distributed() = default;
Distributed::~Distributed() = default;
bool Distributed::compiled_with_mpi() {
  return false;
}
void Distributed::all_reduce_sum(float*, int64_t) {}
void Distributed::all_reduce_sum(double*, int64_t) {}
void Distributed::broadcast(float*, int64_t) {}
void Distributed::barrier() {}
#endif

}  // namespace sherry::train
