// --resume continues the run a checkpoint stopped, as if it had never stopped: real runs,
// killed with SIGKILL after a checkpoint (one machine, and a 2-rank mpirun job), resumed, end
// with the bit-identical parameters and momentum of a run that was never stopped; a Hogwild
// run stopped by Ctrl-C resumes its schedule and epoch count; flags that would change the run
// are refused; and scripts/resumable.sh brings a failed job back from its checkpoint.
#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "hogwild/checkpoint.h"
#include "hogwild/config.h"
#include "hogwild/model.h"
#include "hogwild/recipe.h"
#include "test_support.h"
#include "torch_doctest.h"  // first: see there

using hogwild::testing::run_shell;
using hogwild::testing::skip;
using hogwild::testing::slurp;
using hogwild::testing::source_path;
using hogwild::testing::TempDir;

namespace {

const std::string kRootMayRunMpi = "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ";
const std::string kMpirun = kRootMayRunMpi + "mpirun --oversubscribe --bind-to none -np 2 ";

// One worker with one thread: two runs of the same configuration are bit-identical.
std::string smoke_run(const std::string& marker) {
  return fmt::format("{} --config {} --procs 1 --threads 1 --epochs 6 --progress off {}",
                     HOGWILD_TRAIN_BIN, source_path("configs/smoke.toml"), marker);
}

// Runs `script` (sh) in `dir`, after `prefix` (unshare ...); returns its exit code and what it
// printed (stdout and stderr). Killed after `limit`, as run_shell does.
std::pair<int, std::string> run_script(const TempDir& dir, const std::string& script,
                                       const std::string& prefix = "",
                                       std::chrono::seconds limit = hogwild::testing::kHangLimit) {
  std::ofstream(dir.file("script.sh")) << script;
  return run_shell("cd " + dir.path() + " && " + prefix + " sh script.sh 2>&1", limit);
}

// The two 15-epoch MNIST runs' limit: below their ctest TIMEOUT (tests/long_tests.cmake).
constexpr std::chrono::seconds kFifteenMnistEpochs{540};

// Starts `job` (its output into killed.out), waits for its checkpoint after epoch 3, then
// kills every process whose command line holds `marker` with SIGKILL at once: a lost machine.
std::string kill_after_checkpoint(const std::string& job, const std::string& marker) {
  return fmt::format(R"SH(
{job} > killed.out 2>&1 &
for i in $(seq 2400); do grep -q "checkpoint after epoch 3" killed.out && break; sleep 0.05; done
pkill -9 -f -- "{marker}"
wait
echo "killed: $(grep -c 'test: loss' killed.out) summaries"
)SH",
                     fmt::arg("job", job), fmt::arg("marker", marker));
}

std::vector<torch::Tensor> parameters_of(const std::string& path) {
  hogwild::MnistNet model;
  hogwild::load_parameters(*model, path);
  std::vector<torch::Tensor> parameters;
  for (const auto& p : model->parameters()) parameters.push_back(p.detach().clone());
  return parameters;
}

// The resumed run ends where the straight one did: every parameter and every worker's
// momentum buffer bit for bit, and its epochs are the ones after the checkpoint's.
void check_same_run(const TempDir& dir, int64_t epochs_done) {
  const auto straight = parameters_of(dir.file("straight.pt"));
  const auto resumed = parameters_of(dir.file("resumed.pt"));
  REQUIRE(straight.size() == resumed.size());
  for (std::size_t i = 0; i < straight.size(); ++i) CHECK(torch::equal(straight[i], resumed[i]));
  const hogwild::RunState a = hogwild::read_run_state(dir.file("straight.pt"));
  const hogwild::RunState b = hogwild::read_run_state(dir.file("resumed.pt"));
  CHECK(a.epochs_done == 6);
  CHECK(b.epochs_done == 6);
  REQUIRE(a.momentum.size() == b.momentum.size());
  CHECK_FALSE(a.momentum.empty());
  CHECK(a.momentum == b.momentum);

  const auto straight_doc = nlohmann::json::parse(slurp(dir.file("straight.json")));
  const auto resumed_doc = nlohmann::json::parse(slurp(dir.file("resumed.json")));
  CHECK(resumed_doc["resumed"]["epochs_done"] == epochs_done);
  CHECK(straight_doc["resumed"].is_null());
  REQUIRE(!resumed_doc["epochs"].empty());
  CHECK(resumed_doc["epochs"].front()["epoch"] == epochs_done + 1);
  CHECK(resumed_doc["epochs"].back()["epoch"] == 6);
  // Each epoch's loss and step size are the straight run's: the same schedule, data and masks.
  for (const auto& epoch : resumed_doc["epochs"]) {
    int matched = 0;
    for (const auto& same : straight_doc["epochs"]) {
      if (same["epoch"] != epoch["epoch"] || same["rank"] != epoch["rank"] ||
          same["worker"] != epoch["worker"])
        continue;
      ++matched;
      CHECK(epoch["lr"] == same["lr"]);
      CHECK(epoch["loss"] == same["loss"]);
    }
    CHECK(matched == 1);
  }
  CHECK(resumed_doc["test"]["accuracy"] == straight_doc["test"]["accuracy"]);
}

}  // namespace

TEST_CASE(
    "one worker: killed with SIGKILL after a checkpoint and resumed, it ends bit-identical to a "
    "run never stopped") {
  TempDir dir;
  const std::string marker = fmt::format("--seed {}", 5000 + ::getpid() % 1000);
  const std::string run = smoke_run(marker);
  const auto [code, text] = run_script(
      dir, run + " --save-model straight.pt --metrics-out straight.json >straight.out\n" +
               // The evaluation before each checkpoint gives a worker that did not wait at the
               // epoch's end time for steps of the next one.
               kill_after_checkpoint(
                   run + " --save-model ck.pt --checkpoint-every 1 --eval-every-epoch", marker) +
               run +
               " --resume ck.pt --save-model resumed.pt --metrics-out resumed.json >resumed.out\n");
  INFO(text);
  INFO("killed run: " << slurp(dir.file("killed.out")));
  INFO("resumed run: " << slurp(dir.file("resumed.out")));
  REQUIRE(code == 0);
  CHECK(text.find("killed: 0 summaries") != std::string::npos);  // it never finished
  const int64_t done = hogwild::read_run_state(dir.file("ck.pt")).epochs_done;
  CHECK(done >= 3);
  CHECK(slurp(dir.file("resumed.out"))
            .find(fmt::format(
                "model: resumed from ck.pt after epoch {} of 6; momentum buffers restored",
                done)) != std::string::npos);
  check_same_run(dir, done);
}

TEST_CASE(
    "mpirun, 2 ranks x 1 worker, --sync epoch: the whole job killed after a checkpoint and resumed "
    "ends bit-identical") {
  if (std::system("command -v mpirun >/dev/null") != 0 || ::geteuid() != 0 ||
      std::system("command -v unshare >/dev/null") != 0) {
    skip("needs mpirun, root and unshare(1) (a private /dev/shm for what the killed job leaves)");
    return;
  }
  TempDir dir;
  const std::string marker = fmt::format("--seed {}", 6000 + ::getpid() % 1000);
  const std::string run = kMpirun + smoke_run(marker);
  const auto [code, text] = run_script(
      dir,
      "mount -t tmpfs tmpfs /dev/shm || exit 99\n" + run +
          " --save-model straight.pt --metrics-out straight.json >straight.out 2>&1\n" +
          kill_after_checkpoint(run + " --save-model ck.pt --checkpoint-every 1", marker) +
          "rm -f /dev/shm/vader_segment.*\n" + run +
          " --resume ck.pt --save-model resumed.pt --metrics-out resumed.json >resumed.out 2>&1\n",
      "unshare --mount --propagation private");
  INFO(text);
  INFO("resumed job: " << slurp(dir.file("resumed.out")));
  REQUIRE(code == 0);
  const hogwild::RunState saved = hogwild::read_run_state(dir.file("ck.pt"));
  CHECK(saved.ranks == 2);
  CHECK(saved.momentum.size() == 2);  // rank 1's worker's too, gathered to rank 0
  check_same_run(dir, saved.epochs_done);
  const auto doc = nlohmann::json::parse(slurp(dir.file("resumed.json")));
  CHECK(doc["mpi"]["final_identical"] == true);
}

TEST_CASE(
    "Hogwild, 2 workers: stopped by Ctrl-C after epoch 7 of MNIST and resumed, it trains epochs "
    "8..15 on the same schedule") {
  TempDir dir;
  const std::string run = fmt::format("{} --config {} --progress off", HOGWILD_TRAIN_BIN,
                                      source_path("configs/mnist.toml"));
  const auto [code, text] = run_script(dir,
                                       fmt::format(R"SH(
{run} --save-model ck.pt --metrics-out first.json > first.out 2>&1 &
job=$!
for i in $(seq 4000); do [ "$(grep -c 'epoch  7/15' first.out)" -ge 2 ] && break; sleep 0.05; done
kill -INT $job
wait $job
echo "first: exit $?"
{run} --resume ck.pt --save-model ck.pt --metrics-out resumed.json > resumed.out 2>&1
echo "resumed: exit $?"
)SH",
                                                   fmt::arg("run", run)),
                                       "", kFifteenMnistEpochs);
  INFO(text);
  INFO("first run: " << slurp(dir.file("first.out")));
  INFO("resumed run: " << slurp(dir.file("resumed.out")));
  REQUIRE(code == 0);
  CHECK(text.find("first: exit 130") != std::string::npos);
  CHECK(text.find("resumed: exit 0") != std::string::npos);
  const std::string resumed_out = slurp(dir.file("resumed.out"));
  CHECK(resumed_out.find("model: resumed from ck.pt after epoch 7 of 15 and part of the next") !=
        std::string::npos);
  CHECK(resumed_out.find("epoch  7/15") == std::string::npos);
  CHECK(resumed_out.find("epoch  8/15  worker 0") != std::string::npos);
  CHECK(resumed_out.find("epoch 15/15  worker 1") != std::string::npos);

  const auto doc = nlohmann::json::parse(slurp(dir.file("resumed.json")));
  CHECK(doc["resumed"]["epochs_done"] == 7);
  REQUIRE(doc["epochs"].size() == 16);  // 2 workers x epochs 8..15
  hogwild::Config config;
  hogwild::apply_toml_file(source_path("configs/mnist.toml"), config);
  const hogwild::Hyperparameters hyper = hogwild::choose_hyperparameters(config);
  for (const auto& epoch : doc["epochs"]) {
    const int64_t e = epoch["epoch"];
    CHECK(e >= 8);
    // The step size the uninterrupted run takes in epoch e (the cosine schedule over 15).
    CHECK(double(epoch["lr"]) == hogwild::lr_in_epoch(hyper, e - 1, 15));
  }
  CHECK(double(doc["test"]["accuracy"]) >= 98.8);
  // The final save is the finished run's.
  CHECK(hogwild::read_run_state(dir.file("ck.pt")).epochs_done == 15);
  CHECK_FALSE(hogwild::read_run_state(dir.file("ck.pt")).partial);
}

TEST_CASE(
    "--resume refuses what would change the run: a changed flag, another number of ranks, a file "
    "without a run") {
  TempDir dir;
  const std::string run = fmt::format("{} --config {} --epochs 1 --progress off", HOGWILD_TRAIN_BIN,
                                      source_path("configs/smoke.toml"));
  const auto [code, text] =
      run_script(dir, fmt::format(R"SH(
{run} --save-model ck.pt >/dev/null || exit 1
{train} --resume ck.pt --lr 0.5 --progress off; echo "lr: exit $?"
{train} --resume ck.pt --procs 3 --progress off; echo "procs: exit $?"
{train} --resume ck.pt --config {smoke} --epochs 1 --progress off > same.out; echo "same: exit $?"
)SH",
                                  fmt::arg("run", run), fmt::arg("train", HOGWILD_TRAIN_BIN),
                                  fmt::arg("smoke", source_path("configs/smoke.toml"))));
  INFO(text);
  REQUIRE(code == 0);
  CHECK(text.find("hogwild_train: error: --resume ck.pt: --lr 0.5 would change the run it "
                  "continues, which has lr = 0.02") != std::string::npos);
  CHECK(text.find("lr: exit 2") != std::string::npos);
  CHECK(text.find("--procs 3 would change the run it continues, which has procs = 2") !=
        std::string::npos);
  CHECK(text.find("procs: exit 2") != std::string::npos);
  // The original command line, repeated: accepted (nothing left to train: it evaluates).
  CHECK(text.find("same: exit 0") != std::string::npos);
  CHECK(slurp(dir.file("same.out")).find("resumed from ck.pt after epoch 1 of 1") !=
        std::string::npos);

  // A file of parameters alone (an older hogwild_train's): --resume says to use --init-from.
  hogwild::MnistNet model;
  hogwild::save_parameters(*model, dir.file("old.pt"));
  const auto [old_code, old_text] =
      run_shell(fmt::format("{} --resume {} 2>&1", HOGWILD_TRAIN_BIN, dir.file("old.pt")));
  CHECK(old_code == 2);
  CHECK(old_text.find("holds parameters but not the run that made them") != std::string::npos);
  CHECK(old_text.find("--init-from " + dir.file("old.pt")) != std::string::npos);
  // ... and hogwild_eval and --init-from open it as before.
  const auto [eval_code, eval_text] = run_shell(
      fmt::format("{} --model {} --test-limit 100 2>&1", HOGWILD_EVAL_BIN, dir.file("old.pt")));
  CHECK(eval_code == 0);
  CHECK(eval_text.find("of 100 images") != std::string::npos);
  const auto [init_code, init_text] = run_shell(fmt::format(
      "{} --init-from {} --train-limit 200 --test-limit 100 --epochs 1 --progress off 2>&1",
      HOGWILD_TRAIN_BIN, dir.file("old.pt")));
  CHECK(init_code == 0);
  CHECK(init_text.find("model: a new run from the parameters in " + dir.file("old.pt")) !=
        std::string::npos);

  if (std::system("command -v mpirun >/dev/null") != 0) return;
  const auto [mpi_code, mpi_text] = run_shell(fmt::format(
      "cd {} && {} {} --resume ck.pt --progress off 2>&1", dir.path(), kMpirun, HOGWILD_TRAIN_BIN));
  INFO(mpi_text);
  CHECK(mpi_code == 2);
  CHECK(mpi_text.find("--resume ck.pt: the run was a job of 1 MPI rank(s), this one has 2") !=
        std::string::npos);
}

namespace {

// Shell lines that kill -9 the parent process of MPI rank 1 of the job whose command line holds
// `marker` (its workers are hogwild_train's children; the parent is mpirun's).
std::string kill_rank_one(const std::string& marker) {
  return fmt::format(R"SH(
for p in $(pgrep -f -- "{marker}"); do
  tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1 || continue
  [ "$(ps -o comm= -p "$(ps -o ppid= -p $p | tr -d ' ')")" = hogwild_train ] && continue
  kill -9 $p && echo "killed rank 1: $p"
done
)SH",
                     fmt::arg("marker", marker));
}

}  // namespace

TEST_CASE(
    "scripts/resumable.sh: a 2-rank MNIST job whose rank is killed after its first checkpoint "
    "finishes on its own") {
  if (std::system("command -v mpirun >/dev/null") != 0) {
    skip("needs mpirun");
    return;
  }
  TempDir dir;
  const std::string marker = fmt::format("--seed {}", 7000 + ::getpid() % 1000);
  const auto [code, text] =
      run_script(dir,
                 fmt::format(R"SH(
{root} {launcher} --restarts 2 mpirun --oversubscribe --bind-to none -np 2 {train} --config {config} --procs 1 --progress off {marker} --save-model ck.pt --checkpoint-every 1 --metrics-out m.json > out 2> err &
launcher=$!
for i in $(seq 4000); do grep -q "checkpoint after epoch 1 saved" out && break; sleep 0.05; done
{kill}
wait $launcher
echo "launcher: exit $?"
)SH",
                             fmt::arg("launcher", source_path("scripts/resumable.sh")),
                             fmt::arg("root", kRootMayRunMpi), fmt::arg("train", HOGWILD_TRAIN_BIN),
                             fmt::arg("config", source_path("configs/mnist.toml")),
                             fmt::arg("marker", marker), fmt::arg("kill", kill_rank_one(marker))),
                 "", kFifteenMnistEpochs);
  const std::string err = slurp(dir.file("err"));
  INFO(text);
  INFO("stdout: " << slurp(dir.file("out")));
  INFO("stderr: " << err);
  REQUIRE(code == 0);
  CHECK(text.find("killed rank 1: ") != std::string::npos);
  CHECK(text.find("launcher: exit 0") != std::string::npos);
  CHECK(err.find(
            "resumable.sh: the job failed (exit 137); restarting it from ck.pt (restart 1 of 2)") !=
        std::string::npos);
  CHECK(err.find("restart 2 of 2") == std::string::npos);
  const auto doc = nlohmann::json::parse(slurp(dir.file("m.json")));
  CHECK(int64_t(doc["resumed"]["epochs_done"]) >= 1);
  CHECK(doc["epochs"].back()["epoch"] == 15);
  CHECK(double(doc["test"]["accuracy"]) >= 98.5);
}

TEST_CASE(
    "scripts/resumable.sh brings back a single machine whose parent was killed, and does not retry "
    "bad input") {
  TempDir dir;
  const std::string marker = fmt::format("--seed {}", 8000 + ::getpid() % 1000);
  const auto [code, text] =
      run_script(dir, fmt::format(R"SH(
{launcher} {run} --save-model ck.pt --checkpoint-every 1 --metrics-out m.json > out 2> err &
launcher=$!
for i in $(seq 2400); do grep -q "checkpoint after epoch 2 saved" out && break; sleep 0.05; done
for p in $(pgrep -f -- "{marker}"); do  # the parent: a hogwild_train whose parent is not one
  [ "$(ps -o comm= -p $p)" = hogwild_train ] || continue
  [ "$(ps -o comm= -p "$(ps -o ppid= -p $p | tr -d ' ')")" = hogwild_train ] || kill -9 $p
done
wait $launcher
echo "launcher: exit $?"
{launcher} {run} --momentum 2 --save-model bad.pt 2> bad.err; echo "bad input: exit $?"
{launcher} {run} 2> none.err; echo "no checkpoint file: exit $?"
)SH",
                                  fmt::arg("launcher", source_path("scripts/resumable.sh")),
                                  fmt::arg("run", smoke_run(marker)), fmt::arg("marker", marker)));
  const std::string err = slurp(dir.file("err"));
  INFO(text);
  INFO("stderr: " << err);
  REQUIRE(code == 0);
  CHECK(text.find("launcher: exit 0") != std::string::npos);
  CHECK(err.find(
            "resumable.sh: the job failed (exit 137); restarting it from ck.pt (restart 1 of 3)") !=
        std::string::npos);
  CHECK(nlohmann::json::parse(slurp(dir.file("m.json")))["epochs"].back()["epoch"] == 6);
  CHECK(text.find("bad input: exit 2") != std::string::npos);
  CHECK(slurp(dir.file("bad.err")).find("restarting") == std::string::npos);
  CHECK(text.find("no checkpoint file: exit 2") != std::string::npos);
  CHECK(slurp(dir.file("none.err")).find("needs --save-model FILE") != std::string::npos);
}

TEST_CASE("scripts/resumable.sh retries what a restart can cure, and only that") {
  TempDir dir;
  // A stand-in job: saves the checkpoint as hogwild_train does (a new file, renamed over the
  // old), says how it was started, exits with CODE. Its save carries an old time, as a clock
  // stepped back would give it (or one within the kernel's millisecond grain of the start: CI
  // once saw that): only the new file shows that it saved. `stale` saves nothing, with the
  // file of an earlier run in place.
  const auto [code, text] =
      run_script(dir, fmt::format(R"SH(
job() {{ {launcher} --restarts 2 sh -c 'echo > ck.new && touch -d @1 ck.new && mv ck.new ck.pt; echo "started: $*"; exit '$1 job --save-model ck.pt --init-from old.pt; echo "exit $?"; }}
stale() {{ {launcher} --restarts 2 sh -c 'echo "started: $*"; exit 137' job --save-model ck.pt --init-from old.pt; echo "exit $?"; }}
echo "== 137"; job 137
echo "== 3"; job 3
echo "== 2"; job 2
echo "== 130"; job 130
echo "== 143"; job 143
echo "== 0"; job 0
echo "== stale"; stale
)SH",
                                  fmt::arg("launcher", source_path("scripts/resumable.sh"))));
  INFO(text);
  REQUIRE(code == 0);
  const auto section = [&text = text](const std::string& name) {
    const auto from = text.find("== " + name + "\n");
    const auto to = text.find("== ", from + 3);
    return text.substr(from, to == std::string::npos ? std::string::npos : to - from);
  };
  // Killed (137) or ended by --sync-timeout (3): started again from the checkpoint, 2 times at
  // most.
  for (const char* retried : {"137", "3"}) {
    const std::string part = section(retried);
    CAPTURE(part);
    CHECK(part.find("started: --save-model ck.pt --init-from old.pt") != std::string::npos);
    CHECK(part.find(fmt::format(
              "resumable.sh: the job failed (exit {}); restarting it from ck.pt (restart 1 of 2)",
              retried)) != std::string::npos);
    // The restart resumes from the checkpoint instead of starting anew from --init-from's file.
    CHECK(part.find("started: --save-model ck.pt --resume ck.pt") != std::string::npos);
    CHECK(part.find(fmt::format("the job failed (exit {}); 2 of 2 restarts used", retried)) !=
          std::string::npos);
    CHECK(part.find(fmt::format("exit {}\n", retried)) != std::string::npos);
  }
  // Killed before it saved: the file an earlier run left is not this job's checkpoint.
  CHECK(section("stale").find(
            "resumable.sh: the job failed (exit 137) before its first checkpoint; not restarted") !=
        std::string::npos);
  // Bad input, Ctrl-C, SIGTERM, success: never again.
  for (const char* final : {"2", "130", "143", "0"}) {
    const std::string part = section(final);
    CAPTURE(part);
    CHECK(part.find("restarting") == std::string::npos);
    CHECK(part.find(fmt::format("exit {}\n", final)) != std::string::npos);
  }
}
