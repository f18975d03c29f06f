#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "hogwild/report.h"

using namespace hogwild;

TEST_CASE("durations and the ETA read as people expect") {
  CHECK(format_duration(0) == "0s");
  CHECK(format_duration(42.4) == "42s");
  CHECK(format_duration(65) == "1m05s");
  CHECK(format_duration(3599) == "59m59s");
  CHECK(format_duration(3720) == "1h02m");
  CHECK(eta_seconds(10, 0.25) == 30);
  CHECK(eta_seconds(10, 1) == 0);
  CHECK(eta_seconds(10, 0) == -1);  // nothing done yet: unknown
}

TEST_CASE("the run's share done is the slowest worker's") {
  const int64_t steps[] = {95, 100, 98};  // 100 steps an epoch, 15 epochs
  CHECK(slowest_share(steps, 3, 100, 15) == doctest::Approx(95.0 / 1500));
  // Five workers that end epoch 1 together: about 14 epochs' time left, not 74 of 75.
  const int64_t together[] = {100, 99, 99, 98, 99};
  CHECK(eta_seconds(6.3, slowest_share(together, 5, 100, 15)) ==
        doctest::Approx(6.3 * (1500.0 / 98 - 1)));
  const int64_t over[] = {2000};
  CHECK(slowest_share(over, 1, 100, 15) == 1);
  CHECK(slowest_share(steps, 0, 100, 15) == 0);
}

TEST_CASE("epoch and evaluation lines carry the ETA when it is known") {
  const EpochRecord record{1, 3, Totals{100, 90, 20.0}, 2.0};
  CHECK(format_epoch_line(record, 15, 2, 65) ==
        "epoch  3/15  worker 1  loss 0.2000  acc  90.00%      50 samples/s     2.0 s  eta 1m05s");
  CHECK(format_epoch_line(record, 15, 2).find("eta") == std::string::npos);
  const EvalRecord eval{3, 23.9, Totals{1000, 980, 50.0}};
  CHECK(format_evaluation_line(eval, 100) ==
        "eval after epoch 3: test loss 0.0500  accuracy 98.00%  (23.9 s into training, eta 1m40s)");
}

TEST_CASE("the banner lists only what differs from the defaults") {
  Config config;  // batch_size 0, lr 0, lr_schedule "": the recipe's, shown by its own line
  CHECK(format_config(config) == "configuration: the defaults (--print-config shows them)\n");
  config.config_file = "configs/mnist.toml";
  config.procs = 4;
  config.batch_size = 64;
  config.eval_every_epoch = true;
  config.metrics_out = "run.json";
  CHECK(format_config(config) ==
        "configuration (configs/mnist.toml + flags), where it differs from the defaults "
        "(--print-config shows all):\n"
        "  procs            4\n"
        "  batch_size       64\n"
        "  eval_every_epoch true\n"
        "  metrics_out      run.json\n");
  config = Config{};
  config.lr = 0;  // asked for explicitly, and still the recipe's: no "lr 0" in the banner
  CHECK(format_config(config).find("lr") == std::string::npos);
}

TEST_CASE("an MPI job's JSON has its mpi object, and a run without MPI has none") {
  RunRecord run;
  run.hyperparameters = choose_hyperparameters(run.config);
  CHECK_FALSE(nlohmann::json::parse(metrics_json(run)).contains("mpi"));
  run.mpi.ranks = 2;
  run.mpi.sync = "epoch";
  run.mpi.bytes_per_average = 113984;
  run.mpi.averages = 1;
  run.mpi.epochs.push_back({1, 2.0, {0.01, 0.1}, {0xabcull, 0xabcull}});
  run.mpi.final_checksums = {1, 2};
  const auto doc = nlohmann::json::parse(metrics_json(run));
  CHECK(doc["mpi"]["ranks"] == 2);
  CHECK(doc["mpi"]["epochs"][0]["checksums"][0] == "0000000000000abc");
  CHECK(doc["mpi"]["epochs"][0]["identical"] == true);
  CHECK(doc["mpi"]["epochs"][0]["mpi_share"] == doctest::Approx(0.05));
  CHECK(doc["mpi"]["final_identical"] == false);
}

TEST_CASE(
    "the metrics JSON says its schema, and an epoch record names its worker and its MPI rank "
    "apart") {
  RunRecord run;
  run.config.procs = 2;
  run.epochs.push_back({1, 3, Totals{100, 90, 20.0}, 2.0, 0.015, 0});  // worker 1 on one machine
  run.epochs.push_back(
      {-1, 3, Totals{200, 180, 40.0}, 2.0, 0.015, 1});  // MPI rank 1, all its workers
  run.resumed_from = "ck.pt";
  run.resumed_after = 2;
  const auto doc = nlohmann::json::parse(metrics_json(run));
  CHECK(doc["schema"] == kMetricsSchema);
  CHECK(doc["epochs"][0]["worker"] == 1);
  CHECK(doc["epochs"][0]["rank"] == 0);
  CHECK(doc["epochs"][0]["lr"] == 0.015);
  CHECK(doc["epochs"][1]["worker"].is_null());
  CHECK(doc["epochs"][1]["rank"] == 1);
  CHECK(doc["resumed"]["from"] == "ck.pt");
  CHECK(doc["resumed"]["epochs_done"] == 2);
  CHECK(nlohmann::json::parse(metrics_json(RunRecord{}))["resumed"].is_null());
}
