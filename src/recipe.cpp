#include "hogwild/recipe.h"

#include <fmt/format.h>

#include <cmath>

#include "hogwild/error.h"

namespace hogwild {

Hyperparameters choose_hyperparameters(const Config& config) {
  Hyperparameters h;
  h.recipe = config.recipe;
  h.lr = config.lr;
  h.momentum = config.momentum;
  if (config.recipe == kRecipeSeed) {
    h.batch_size = config.batch_size > 0 ? config.batch_size : kSeedDefaultBatch;
    h.batch_per_worker = h.batch_size;
  } else if (config.recipe == kRecipeScaled) {
    h.batch_size = config.batch_size > 0 ? config.batch_size : kScaledDefaultBatch;
    const int64_t total = h.batch_size;
    if (total < config.procs) {
      throw InputError(fmt::format("invalid batch_size = {}: the scaled recipe splits it over the "
                                   "workers, so it must be at least --procs ({})",
                                   total, config.procs));
    }
    h.batch_per_worker = std::llround(double(total) / double(config.procs));
  } else {
    throw InputError(fmt::format("invalid recipe = '{}': must be scaled or seed", config.recipe));
  }
  h.samples_in_flight = h.batch_per_worker * config.procs;
  return h;
}

std::string describe(const Hyperparameters& h, int64_t procs) {
  const std::string batch =
      h.recipe == kRecipeScaled
          ? fmt::format("batch {} over {} worker{} = {} per worker and step", h.batch_size, procs,
                        procs == 1 ? "" : "s", h.batch_per_worker)
          : fmt::format("batch {} per worker and step ({} in flight over {} worker{})",
                        h.batch_per_worker, h.samples_in_flight, procs, procs == 1 ? "" : "s");
  return fmt::format("recipe {}: {}, lr {}, momentum {}", h.recipe, batch, h.lr, h.momentum);
}

}  // namespace hogwild
