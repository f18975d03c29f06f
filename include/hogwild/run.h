// One run from start to end: load data -> build model -> share parameters -> fork workers ->
// (under mpirun: combine with the other ranks) -> join -> evaluate -> report. Used by
// hogwild_train's main().
#pragma once

#include <cstdio>

#include "hogwild/config.h"
#include "hogwild/mpi_world.h"
#include "hogwild/report.h"

namespace hogwild {

// Prints progress to `out` and returns the record (also written to config.metrics_out). In an
// MPI job only rank 0 prints and writes files; give the other ranks an `out` that discards.
// Call it at most once per process, before any other multi-threaded ATen work: it forks.
RunRecord run_hogwild(const Config& config, std::FILE* out, MpiWorld& world);

}  // namespace hogwild
