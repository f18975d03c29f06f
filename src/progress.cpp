#include "hogwild/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "hogwild/report.h"

namespace hogwild {

bool progress_wanted(Progress mode, std::FILE* out, bool under_mpirun) {
  if (mode == Progress::kOn) return true;
  if (mode == Progress::kOff || under_mpirun) return false;
  return ::isatty(::fileno(out)) == 1;
}

ProgressLine::ProgressLine(std::FILE* out, bool enabled, const WorkerControl* control, int workers,
                           int64_t steps_per_epoch, int64_t epochs, int64_t batch,
                           int64_t first_epoch)
    : out_(out),
      enabled_(enabled && control != nullptr && workers > 0 && steps_per_epoch > 0),
      control_(control),
      workers_(workers),
      steps_per_epoch_(steps_per_epoch),
      epochs_(epochs),
      batch_(batch),
      first_epoch_(first_epoch),
      started_(std::chrono::steady_clock::now()),
      last_draw_(started_),
      last_total_steps_(first_epoch * steps_per_epoch * workers) {}

std::string ProgressLine::text(const int64_t* steps, double elapsed,
                               double samples_per_second) const {
  int64_t slowest = steps[0], total = 0;
  for (int w = 0; w < workers_; ++w) {
    slowest = std::min(slowest, steps[w]);
    total += steps[w];
  }
  const int64_t epoch = std::min(slowest / steps_per_epoch_ + 1, epochs_);
  const int64_t into = std::min(slowest - (epoch - 1) * steps_per_epoch_, steps_per_epoch_);
  const double eta =
      eta_seconds(elapsed, slowest_share(steps, workers_, steps_per_epoch_, epochs_, first_epoch_));
  return fmt::format("epoch {}/{}  {:3.0f}% of the epoch  {:6.0f} samples/s  eta {}", epoch,
                     epochs_, 100.0 * double(into) / double(steps_per_epoch_), samples_per_second,
                     eta < 0 ? std::string("?") : format_duration(eta));
}

void ProgressLine::tick() {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since < 0.25) return;
  std::vector<int64_t> steps(std::size_t(workers_), 0);
  int64_t total = 0;
  for (int w = 0; w < workers_; ++w) {
    // A resumed worker's counter reads 0 until its first step.
    steps[std::size_t(w)] = std::max(first_epoch_ * steps_per_epoch_,
                                     control_->steps[w].value.load(std::memory_order_relaxed));
    total += steps[std::size_t(w)];
  }
  const double instant = double(total - last_total_steps_) * double(batch_) / since;
  rate_ = rate_ == 0 ? instant : 0.7 * rate_ + 0.3 * instant;
  last_total_steps_ = total;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - started_).count();
  fmt::print(out_, "\r\033[K{}", text(steps.data(), elapsed, rate_));
  std::fflush(out_);
  shown_ = true;
}

void ProgressLine::clear() {
  if (!shown_) return;
  fmt::print(out_, "\r\033[K");
  std::fflush(out_);
  shown_ = false;
}

}  // namespace hogwild
