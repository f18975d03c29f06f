// The 2x2, stride-2 max-pool window of both fused operators (pool_relu, and the pool of
// conv_pool_relu): its geometry and its tie rule, written once. No torch here.
#pragma once

#include <cstdint>

namespace hogwild {

// Outputs of the pool over `n` inputs with `padding` on either side.
constexpr int64_t pooled_size(int64_t n, int64_t padding) { return (n + 2 * padding - 2) / 2 + 1; }

// Input row and column of window position k (0..3, row-major) of output (oy, ox); outside
// the input where the window hangs over the edge.
constexpr int64_t window_y(int64_t oy, int64_t padding, int k) { return 2 * oy - padding + k / 2; }
constexpr int64_t window_x(int64_t ox, int64_t padding, int k) { return 2 * ox - padding + k % 2; }

// The tie rule, as ATen's max-pool: strictly greater, pair by pair, so the first maximum of
// the window (row-major) wins. From the masks (0, or -1 where true, as GCC's vector
// comparisons give them) of v1 > v0, v3 > v2 and max(v2, v3) > max(v0, v1) (the lower row),
// where max(a, b) is b only where b > a: the window position 0..3 of the maximum, into `at`.
// Mask is int32_t or a vector of int32 lanes. Bit operations only, so that the loops around
// it vectorize; references and always_inline, so that no vector crosses a call (the ABI
// differs between the kernels' AVX-512, AVX2 and plain clones).
template <typename Mask>
__attribute__((always_inline)) inline void position_of_maximum(const Mask& second_wins,
                                                               const Mask& fourth_wins,
                                                               const Mask& lower_wins, Mask& at) {
  at = (lower_wins & (2 - fourth_wins)) | (~lower_wins & -second_wins);
}

}  // namespace hogwild
