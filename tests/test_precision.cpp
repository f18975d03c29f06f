#include "hogwild/precision.h"

#include <doctest/doctest.h>

#include "hogwild/error.h"

using namespace hogwild;

TEST_CASE("--precision: fp32 and bf16 as asked, auto bf16 only with AMX, and why") {
  CHECK(choose_precision("fp32").precision == Precision::kFp32);
  CHECK(choose_precision("fp32").why == "asked for");
  CHECK(choose_precision("bf16").precision == Precision::kBf16);
  const PrecisionChoice automatic = choose_precision("auto");
  CHECK(automatic.precision == (cpu_has_amx() ? Precision::kBf16 : Precision::kFp32));
  CHECK(automatic.why == (cpu_has_amx() ? "auto: the CPU has AMX" : "auto: this CPU has no AMX"));
  CHECK(std::string(precision_name(Precision::kBf16)) == "bf16");
  CHECK_THROWS_WITH_AS(choose_precision("fp16"),
                       "invalid precision = 'fp16': must be fp32, bf16 or auto (--precision / config key 'precision')",
                       InputError);
  CHECK_FALSE(cpu_model_name().empty());
}
