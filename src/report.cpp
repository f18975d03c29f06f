#include "hogwild/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "hogwild/error.h"
#include "hogwild/output_file.h"

namespace hogwild {

int64_t RunRecord::trained_samples() const {
  int64_t samples = 0;
  for (const auto& e : epochs) samples += e.totals.samples;
  return samples;
}

double RunRecord::samples_per_second() const {
  return train_seconds > 0 ? double(trained_samples()) / train_seconds : 0.0;
}

std::string format_config(const Config& config) {
  const std::string source =
      config.config_file.empty() ? "" : " (" + config.config_file + " + flags)";
  // Both lists come from the one field table, in its order.
  const auto entries = config_entries(config);
  const auto defaults = config_entries(Config{});
  std::string changed;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].value != defaults[i].value) {
      changed += fmt::format("  {:<16} {}\n", entries[i].key, entries[i].value);
    }
  }
  if (changed.empty())
    return fmt::format("configuration{}: the defaults (--print-config shows them)\n", source);
  return fmt::format(
      "configuration{}, where it differs from the defaults (--print-config shows all):\n{}", source,
      changed);
}

std::string format_duration(double seconds) {
  const auto total = int64_t(seconds + 0.5);
  if (total < 60) return fmt::format("{}s", total);
  if (total < 3600) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}h{:02}m", total / 3600, total % 3600 / 60);
}

double slowest_share(const int64_t* steps_done, int workers, int64_t steps_per_epoch,
                     int64_t epochs, int64_t first_epoch) {
  if (workers < 1 || steps_per_epoch < 1 || epochs <= first_epoch) return 0;
  const int64_t slowest =
      *std::min_element(steps_done, steps_done + workers) - first_epoch * steps_per_epoch;
  return std::clamp(double(slowest) / double(steps_per_epoch * (epochs - first_epoch)), 0.0, 1.0);
}

double eta_seconds(double elapsed, double done) {
  if (!(done > 0) || elapsed < 0) return -1;
  return done >= 1 ? 0 : elapsed * (1 - done) / done;
}

namespace {

std::string eta_text(double eta) { return eta < 0 ? "" : "  eta " + format_duration(eta); }

}  // namespace

std::string format_epoch_line(const EpochRecord& r, int64_t epochs, int64_t procs, double eta) {
  const int worker_width = int(fmt::formatted_size("{}", procs - 1));
  const int epoch_width = int(fmt::formatted_size("{}", epochs));
  return fmt::format(
      "epoch {:>{}}/{}  worker {:>{}}  loss {:.4f}  acc {:6.2f}%  {:6.0f} samples/s  {:6.1f} s{}",
      r.epoch, epoch_width, epochs, r.worker, worker_width, r.totals.mean_loss(),
      r.totals.accuracy(), r.samples_per_second(), r.seconds, eta_text(eta));
}

std::string format_evaluation_line(const EvalRecord& r, double eta) {
  return fmt::format(
      "eval after epoch {}: test loss {:.4f}  accuracy {:.2f}%  ({:.1f} s into training{})",
      r.epoch, r.test.mean_loss(), r.test.accuracy(), r.seconds,
      eta < 0 ? "" : ", eta " + format_duration(eta));
}

std::string format_mpi_epoch_line(int64_t epoch, int64_t epochs,
                                  const std::vector<EpochRecord>& nodes, int64_t procs,
                                  const MpiEpochRecord& mpi, double eta) {
  Totals totals;
  for (const auto& node : nodes) totals += node.totals;
  const double mpi_seconds =
      mpi.mpi_seconds.empty() ? 0
                              : *std::max_element(mpi.mpi_seconds.begin(), mpi.mpi_seconds.end());
  const int epoch_width = int(fmt::formatted_size("{}", epochs));
  return fmt::format(
      "epoch {:>{}}/{}  {} ranks x {} workers  loss {:.4f}  acc {:6.2f}%  {:6.0f} samples/s  "
      "{:6.1f} s  mpi {:.3f} s ({:.1f}%){}",
      epoch, epoch_width, epochs, nodes.size(), procs, totals.mean_loss(), totals.accuracy(),
      mpi.wall_seconds > 0 ? double(totals.samples) / mpi.wall_seconds : 0.0, mpi.wall_seconds,
      mpi_seconds, mpi.wall_seconds > 0 ? 100.0 * mpi_seconds / mpi.wall_seconds : 0.0,
      eta_text(eta));
}

bool all_equal(const std::vector<uint64_t>& checksums) {
  return std::all_of(checksums.begin(), checksums.end(),
                     [&](uint64_t c) { return c == checksums.front(); });
}

std::string format_summary(const RunRecord& run) {
  std::string target;
  if (run.config.target_accuracy > 0) {
    target = run.target_epoch > 0
                 ? fmt::format("target: {:.2f}% reached after epoch {}, {:.1f} s into training\n",
                               run.config.target_accuracy, run.target_epoch, run.target_seconds)
                 : fmt::format("target: {:.2f}% not reached in {} epochs\n",
                               run.config.target_accuracy, run.config.epochs);
  }
  return target + fmt::format(
                      "test: loss {:.4f}  accuracy {:.2f}% ({} of {} images)\n"
                      "time: training {:.1f} s ({:.0f} samples/s; {} procs x {} threads), "
                      "evaluation {:.1f} s, "
                      "total {:.1f} s\n"
                      "restarts: {}\n",
                      run.test.mean_loss(), run.test.accuracy(), run.test.correct, run.test.samples,
                      run.train_seconds, run.samples_per_second(), run.config.procs,
                      run.threads_per_worker, run.eval_seconds, run.total_seconds, run.restarts);
}

namespace {

nlohmann::json config_object(const Config& c) {
  nlohmann::json config = nlohmann::json::object();
  for (const auto& entry : config_entries(c)) {
    if (entry.is_string)
      config[entry.key] = entry.value;
    else
      config[entry.key] = nlohmann::json::parse(entry.value);
  }
  config["data_dir"] = resolved_data_dir(c);
  config["config_file"] = c.config_file;
  return config;
}

nlohmann::json hyperparameters_object(const Hyperparameters& h) {
  return {{"recipe", word(h.recipe)},
          {"batch_size", h.batch_size},
          {"mpi_ranks", h.nodes},
          {"batch_per_worker", h.batch_per_worker},
          {"samples_in_flight", h.samples_in_flight},
          {"lr", h.lr},
          {"lr_per_worker", h.lr_per_worker},
          {"lr_schedule", word(h.lr_schedule)},
          {"momentum", h.momentum}};
}

std::vector<std::string> hex(const std::vector<uint64_t>& values) {
  std::vector<std::string> text;
  for (uint64_t v : values) text.push_back(fmt::format("{:016x}", v));
  return text;
}

nlohmann::json mpi_object(const MpiRecord& m) {
  nlohmann::json epochs = nlohmann::json::array();
  std::vector<double> per_epoch;
  for (const auto& e : m.epochs) {
    const double mpi =
        e.mpi_seconds.empty() ? 0 : *std::max_element(e.mpi_seconds.begin(), e.mpi_seconds.end());
    per_epoch.push_back(mpi);
    epochs.push_back({{"epoch", e.epoch},
                      {"wall_seconds", e.wall_seconds},
                      {"mpi_seconds", e.mpi_seconds},
                      {"mpi_share", e.wall_seconds > 0 ? mpi / e.wall_seconds : 0.0},
                      {"checksums", hex(e.checksums)},
                      {"identical", all_equal(e.checksums)}});
  }
  return {{"ranks", m.ranks},
          {"sync", m.sync},
          {"bytes_per_average", m.bytes_per_average},
          {"averages", m.averages},
          {"seconds_in_mpi_per_epoch", per_epoch},
          {"epochs", epochs},
          {"final_checksums", hex(m.final_checksums)},
          {"final_identical", all_equal(m.final_checksums)}};
}

}  // namespace

std::string config_json(const Config& config) {
  nlohmann::json doc = config_object(config);
  doc["hyperparameters"] = hyperparameters_object(choose_hyperparameters(config));
  return doc.dump(2) + "\n";
}

std::string metrics_json(const RunRecord& run) {
  using nlohmann::json;
  const json config = config_object(run.config);
  json epochs = json::array();
  for (const auto& e : run.epochs) {
    epochs.push_back({{"epoch", e.epoch},
                      {"worker", e.worker >= 0 ? json(e.worker) : json(nullptr)},
                      {"rank", e.rank},
                      {"samples", e.totals.samples},
                      {"loss", e.totals.mean_loss()},
                      {"accuracy", e.totals.accuracy()},
                      {"seconds", e.seconds},
                      {"lr", e.lr},
                      {"samples_per_second", e.samples_per_second()}});
  }
  json evaluations = json::array();
  for (const auto& e : run.evaluations) {
    evaluations.push_back({{"epoch", e.epoch},
                           {"seconds", e.seconds},
                           {"loss", e.test.mean_loss()},
                           {"accuracy", e.test.accuracy()}});
  }
  const Hyperparameters& h = run.hyperparameters;
  const bool reached = run.target_epoch > 0;
  json doc = {
      {"schema", kMetricsSchema},
      {"config", config},
      {"hyperparameters", hyperparameters_object(h)},
      {"machine", {{"cores", run.cores}, {"cpu", run.cpu}, {"isa", run.isa}, {"amx", run.amx}}},
      {"precision", {{"used", precision_name(run.precision)}, {"why", run.precision_why}}},
      {"threads_per_worker", run.threads_per_worker},
      {"data", {{"train_samples", run.train_size}, {"test_samples", run.test_size}}},
      {"model", {{"parameters", run.parameters}, {"segment_bytes", run.segment_bytes}}},
      {"resumed", run.resumed_from.empty()
                      ? json(nullptr)
                      : json{{"from", run.resumed_from}, {"epochs_done", run.resumed_after}}},
      {"epochs", epochs},
      {"restarts", run.restarts},
      {"evaluations", evaluations},
      {"target",
       {{"accuracy", run.config.target_accuracy},
        {"reached", reached},
        {"epoch", reached ? json(run.target_epoch) : json(nullptr)},
        {"time_to_accuracy_seconds", reached ? json(run.target_seconds) : json(nullptr)}}},
      {"test",
       {{"loss", run.test.mean_loss()},
        {"accuracy", run.test.accuracy()},
        {"correct", run.test.correct},
        {"samples", run.test.samples}}},
      {"timings",
       {{"load_seconds", run.load_seconds},
        {"train_seconds", run.train_seconds},
        {"eval_seconds", run.eval_seconds},
        {"total_seconds", run.total_seconds}}},
      {"throughput",
       {{"trained_samples", run.trained_samples()},
        {"samples_per_second", run.samples_per_second()}}},
  };
  if (run.mpi.ranks > 0) doc["mpi"] = mpi_object(run.mpi);
  return doc.dump(2) + "\n";
}

void write_metrics_json(const std::string& path, const RunRecord& run) {
  OutputFile(path, "--metrics-out").write(metrics_json(run));
}

}  // namespace hogwild
