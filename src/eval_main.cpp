// hogwild_eval: evaluates parameters saved by hogwild_train --save-model on a test set.
#include <fmt/format.h>
#include <torch/torch.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "hogwild/checkpoint.h"
#include "hogwild/config.h"
#include "hogwild/dataset.h"
#include "hogwild/error.h"
#include "hogwild/model.h"
#include "hogwild/tool_flags.h"
#include "hogwild/trainer.h"

namespace {

int run(int argc, char** argv) {
  hogwild::Config config;
  std::string model_path;
  int threads = 0;
  CLI::App app{"Evaluates a model saved by hogwild_train --save-model on the test set.",
               "hogwild_eval"};
  app.add_option("--model", model_path, "file written by hogwild_train --save-model")->required();
  std::string dataset = "mnist";
  app.add_option("--dataset", dataset, "mnist or fashion-mnist")->capture_default_str();
  app.add_option("--data-dir", config.data_dir,
                 "directory with the IDX files; empty: <project>/data/<dataset>");
  app.add_option("--test-limit", config.test_limit, "first N test images only; 0: all")
      ->capture_default_str();
  app.add_option("--eval-batch-size", config.eval_batch_size, "batch size")->capture_default_str();
  app.add_option("--threads", threads, "intra-op threads; 0: all cores")->capture_default_str();
  if (!hogwild::parse_tool_flags(app, argc, argv)) return 0;  // --help
  hogwild::set_key(config, "dataset", dataset);
  hogwild::validate(config);
  if (threads < 0) throw hogwild::InputError(fmt::format("invalid threads = {}", threads));
  at::set_num_threads(threads > 0 ? threads
                                  : int(std::max<long>(1, ::sysconf(_SC_NPROCESSORS_ONLN))));

  hogwild::MnistNet model;
  hogwild::load_parameters(*model, model_path);
  const std::string dir = hogwild::resolved_data_dir(config);
  const hogwild::Dataset test = hogwild::load_dataset(dir, "t10k", config.test_limit);
  const hogwild::Totals totals = hogwild::evaluate(model, test, config.eval_batch_size);
  fmt::print("model: {}\ntest: loss {:.4f}  accuracy {:.2f}% ({} of {} images from {})\n",
             model_path, totals.mean_loss(), totals.accuracy(), totals.correct, totals.samples,
             dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return hogwild::run_tool("hogwild_eval", [&] { return run(argc, argv); });
}
