#include "hogwild/mpi_job.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

#include "hogwild/error.h"

namespace hogwild {
namespace {

std::string join_lines(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return text;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    lines.push_back(text.substr(start, end - start));
  }
  return lines;
}

}  // namespace

std::vector<std::string> job_fingerprint(const Config& config,
                                         const std::vector<std::string>& data_lines) {
  std::vector<std::string> lines;
  for (const auto& entry : config_entries(config)) {
    if (entry.key == "data_dir" || entry.key == "metrics_out" || entry.key == "save_model" ||
        entry.key == "resume" || entry.key == "init_from") {
      continue;
    }
    lines.push_back(fmt::format("{} = {}", entry.key, entry.value));
  }
  lines.insert(lines.end(), data_lines.begin(), data_lines.end());
  return lines;
}

std::optional<std::string> first_disagreement(const std::vector<std::vector<std::string>>& ranks) {
  if (ranks.empty()) return std::nullopt;
  const std::vector<std::string>& zero = ranks[0];
  for (std::size_t r = 1; r < ranks.size(); ++r) {
    const std::vector<std::string>& theirs = ranks[r];
    for (std::size_t i = 0; i < std::max(zero.size(), theirs.size()); ++i) {
      const std::string here = i < zero.size() ? zero[i] : "(nothing)";
      const std::string there = i < theirs.size() ? theirs[i] : "(nothing)";
      if (here == there) continue;
      return fmt::format(
          "MPI rank {} disagrees with rank 0: {} there, {} on rank 0; every rank "
          "needs the same flags, config file and data files",
          r, there, here);
    }
  }
  return std::nullopt;
}

std::optional<std::string> first_bad_input(const std::vector<std::string>& by_rank) {
  for (std::size_t r = 0; r < by_rank.size(); ++r) {
    if (by_rank[r].empty()) continue;
    return r == 0 ? by_rank[r] : fmt::format("MPI rank {}: {}", r, by_rank[r]);
  }
  return std::nullopt;
}

bool any_rank_bad_input(MpiWorld& world, const std::string& mine, std::string* message) {
  const std::optional<std::string> line =
      first_bad_input(world.gather_strings(mine));  // rank 0's view
  int32_t bad = line ? 1 : 0;
  world.broadcast(&bad, sizeof bad);
  if (line && message != nullptr) *message = *line;
  return bad != 0;
}

void check_ranks_agree(MpiWorld& world, const std::vector<std::string>& fingerprint) {
  std::optional<std::string> problem;
  if (const std::vector<std::string> all = world.gather_strings(join_lines(fingerprint));
      !all.empty()) {
    std::vector<std::vector<std::string>> ranks;
    for (const auto& text : all) ranks.push_back(split_lines(text));
    problem = first_disagreement(ranks);
  }
  int32_t disagree = problem ? 1 : 0;  // rank 0's verdict, for every rank
  world.broadcast(&disagree, sizeof disagree);
  if (disagree == 0) return;
  if (world.rank() == 0) throw JobInputError(*problem);
  throw ReportedByRankZero("the MPI ranks disagree (rank 0 says how)");
}

std::string text_from_rank_zero(MpiWorld& world, const std::string& text) {
  if (!world.active()) return text;
  uint64_t length = text.size();
  world.broadcast(&length, sizeof length);
  std::string received = world.rank() == 0 ? text : std::string(length, '\0');
  if (length > 0) world.broadcast(received.data(), length);
  return received;
}

}  // namespace hogwild
