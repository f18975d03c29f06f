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
// rank 0 reads or writes (metrics_out, save_model, resume, init_from) and the data directory, whose
// path may differ between machines. Then `data_lines` (one per data set: its size and checksum).
std::vector<std::string> job_fingerprint(const Config& config,
                                         const std::vector<std::string>& data_lines);

// Rank 0's message when some rank's fingerprint differs from rank 0's (ranks[0]): the first
// such rank and its first differing line; nothing when they all agree.
std::optional<std::string> first_disagreement(const std::vector<std::vector<std::string>>& ranks);

// Before anything else collective, every rank says whether its own flags and config file
// are good ("") or not (the message). A rank that cannot start must stop the others, which
// would otherwise wait for it in their first collective for ever. Returns true when any rank
// is wrong (every rank then exits); rank 0 gets the line to print: first_bad_input's.
bool any_rank_bad_input(MpiWorld& world, const std::string& mine, std::string* message);

// Rank 0's line for the ranks' bad-input messages (by rank; "" for a good one): its own when
// it has one (every rank usually has the same), else the first wrong rank's, named.
std::optional<std::string> first_bad_input(const std::vector<std::string>& by_rank);

// Every rank calls it with its own fingerprint. When they differ, rank 0 throws JobInputError
// with first_disagreement's message and the other ranks ReportedByRankZero, all at this point.
void check_ranks_agree(MpiWorld& world, const std::vector<std::string>& fingerprint);

// Rank 0's `text` on every rank (a collective; outside mpirun, `text`).
std::string text_from_rank_zero(MpiWorld& world, const std::string& text);

}  // namespace hogwild
