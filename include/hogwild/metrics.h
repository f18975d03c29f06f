// Running totals of loss and accuracy, shared by training, evaluation and reporting.
#pragma once

#include <cstdint>

namespace hogwild {

struct Totals {
  int64_t samples = 0;
  int64_t correct = 0;
  double loss_sum = 0;  // sum over samples of the per-sample loss

  double mean_loss() const { return samples > 0 ? loss_sum / double(samples) : 0.0; }
  double accuracy() const { return samples > 0 ? 100.0 * double(correct) / double(samples) : 0.0; }
  Totals& operator+=(const Totals& other) {
    samples += other.samples;
    correct += other.correct;
    loss_sum += other.loss_sum;
    return *this;
  }
};

}  // namespace hogwild
