// What makes the ranks of an MPI job one job: the same configuration on the same data. Each
// rank describes its own as lines of text (its fingerprint); rank 0 compares them all before
// any training, and one line from rank 0 stops every rank when they differ. No torch here.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hogwild/config.h"
#include "hogwild/mpi_world.h"

namespace hogwild {

// The configuration as "key = value" lines, less what may differ between ranks: the files only
// rank 0 reads or writes (metrics_out, save_model, resume) and the data directory, whose path
// may differ between machines. Then `data_lines` (one per data set: its size and checksum).
std::vector<std::string> job_fingerprint(const Config& config, const std::vector<std::string>& data_lines);

// Rank 0's message when some rank's fingerprint differs from rank 0's (ranks[0]): the first
// such rank and its first differing line; nothing when they all agree.
std::optional<std::string> first_disagreement(const std::vector<std::vector<std::string>>& ranks);

// Every rank calls it with its own fingerprint. When they differ, rank 0 throws JobInputError
// with first_disagreement's message and the other ranks ReportedByRankZero, all at this point.
void check_ranks_agree(MpiWorld& world, const std::vector<std::string>& fingerprint);

}  // namespace hogwild
