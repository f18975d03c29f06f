// What a run tells people (one line per rank and epoch, a summary) and tools (a JSON file).
// The parent does all printing, so lines never interleave.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hogwild/config.h"
#include "hogwild/metrics.h"
#include "hogwild/precision.h"
#include "hogwild/recipe.h"

namespace hogwild {

// One epoch of one worker (one machine), or of every worker of one MPI rank together.
struct EpochRecord {
  int64_t worker = 0;  // the local worker; -1: all of the rank's (an MPI job's records)
  int64_t epoch = 0;   // 1-based
  Totals totals;
  double seconds = 0;
  double lr = 0;     // the step size each worker took in the epoch
  int64_t rank = 0;  // the MPI rank (0 on one machine)
  double samples_per_second() const { return seconds > 0 ? double(totals.samples) / seconds : 0; }
};

// The test set evaluated on the shared parameters once every rank had finished `epoch`.
struct EvalRecord {
  int64_t epoch = 0;
  double seconds = 0;  // from the start of training to the end of this evaluation
  Totals test;
};

// One epoch of an MPI job: each rank's time in MPI, and its checksum of the parameters after
// the epoch's average (--sync epoch, grads; 0 for steps:S, which does not average there).
struct MpiEpochRecord {
  int64_t epoch = 0;
  double wall_seconds = 0;          // the slowest rank's parent, from the previous epoch's end
  std::vector<double> mpi_seconds;  // per rank
  std::vector<uint64_t> checksums;  // per rank
};

struct MpiRecord {
  int64_t ranks = 0;  // 0: not an MPI job
  std::string sync;
  int64_t bytes_per_average = 0;
  int64_t averages = 0;
  std::vector<MpiEpochRecord> epochs;
  std::vector<uint64_t> final_checksums;  // per rank, of the final parameters
};

struct RunRecord {
  Config config;
  Hyperparameters hyperparameters;
  int64_t cores = 0;
  std::string cpu;                         // the CPU's model name (/proc/cpuinfo)
  std::string isa;                         // "AVX-512, AVX512-BF16, no AMX"
  bool amx = false;                        // it has AMX (precision.h)
  Precision precision = Precision::kFp32;  // what the step ran in
  std::string precision_why;
  int64_t threads_per_worker = 0;
  int64_t train_size = 0;
  int64_t test_size = 0;
  int64_t parameters = 0;
  int64_t segment_bytes = 0;
  std::string resumed_from;   // --resume's file; empty: a run from its start
  int64_t resumed_after = 0;  // the epochs the checkpoint had done: this run trains the rest
  std::vector<EpochRecord> epochs;
  Totals test;
  int64_t restarts = 0;                 // failed workers replaced
  std::vector<EvalRecord> evaluations;  // --eval-every-epoch / --target-accuracy, and the final one
  int64_t target_epoch = 0;    // the epoch whose evaluation reached --target-accuracy; 0: none
  double target_seconds = -1;  // from the start of training to the end of that evaluation
  double load_seconds = 0;
  double train_seconds =
      0;  // from just before the first fork to the workers' exit (the stop grace included)
  double eval_seconds = 0;
  double total_seconds = 0;  // start of the program to the end of evaluation
  MpiRecord mpi;

  int64_t trained_samples() const;
  double samples_per_second() const;  // all ranks together, over train_seconds
};

// The banner's configuration: only the keys that differ from the defaults, so a run opens
// with what was asked of it. What the recipe chose (batch, lr, schedule) is the recipe line's
// job, threads and cores the model line's; --print-config and the JSON have every key.
std::string format_config(const Config& config);
// The share of the run the slowest of `workers` workers has done, from each one's steps done
// (a run is `epochs` x `steps_per_epoch` steps per worker): the run ends with the slowest. A
// resumed run counts from its first epoch: the checkpoint's epochs are not this run's work.
double slowest_share(const int64_t* steps_done, int workers, int64_t steps_per_epoch,
                     int64_t epochs, int64_t first_epoch = 0);
// "42s", "1m05s", "1h02m": how long, for people.
std::string format_duration(double seconds);
// Seconds left when `done` of the run's work (0..1) took `elapsed` seconds; -1 when unknown.
double eta_seconds(double elapsed, double done);

// An epoch line; eta_seconds < 0 leaves the ETA out.
std::string format_epoch_line(const EpochRecord& record, int64_t epochs, int64_t procs,
                              double eta_seconds = -1);
std::string format_summary(const RunRecord& run);
std::string format_evaluation_line(const EvalRecord& record, double eta_seconds = -1);
// One line for an epoch of an MPI job: every rank's workers together (nodes[k] is rank k's
// record), the slowest rank's time and its time in MPI.
std::string format_mpi_epoch_line(int64_t epoch, int64_t epochs,
                                  const std::vector<EpochRecord>& nodes, int64_t procs,
                                  const MpiEpochRecord& mpi, double eta_seconds = -1);
// True when every rank's checksum equals rank 0's.
bool all_equal(const std::vector<uint64_t>& checksums);

// The effective configuration as a JSON object (data_dir resolved).
std::string config_json(const Config& config);

// The JSON document's layout version, its "schema". 2: each epoch record names its "worker"
// (null for an MPI rank's record of all its workers) and its MPI "rank" apart (1 had one
// "rank" for either); "resumed" and each epoch's "lr" are new.
inline constexpr int kMetricsSchema = 2;

// The whole run as one JSON document, written as OutputFile writes (output_file.h).
std::string metrics_json(const RunRecord& run);
void write_metrics_json(const std::string& path, const RunRecord& run);

}  // namespace hogwild
