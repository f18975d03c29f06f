// LibTorch pulls in glog, whose CHECK/CHECK_EQ/... macros collide with doctest's. Include
// torch first, drop glog's macros, then include doctest, so CHECK is always doctest's.
#pragma once

#include <torch/torch.h>

#undef CHECK
#undef CHECK_EQ
#undef CHECK_NE
#undef CHECK_LT
#undef CHECK_LE
#undef CHECK_GT
#undef CHECK_GE
#undef CHECK_FALSE
#include <doctest/doctest.h>
