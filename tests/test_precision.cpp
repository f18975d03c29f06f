#include <doctest/doctest.h>

#include "hogwild/config.h"
#include "hogwild/error.h"
#include "hogwild/precision.h"
#include "test_support.h"

using namespace hogwild;

TEST_CASE("--precision: fp32 and bf16 as asked, auto bf16 with AVX512-BF16 or AMX, and why") {
  CHECK(choose_precision(PrecisionMode::kFp32).precision == Precision::kFp32);
  CHECK(choose_precision(PrecisionMode::kFp32).why == "asked for");
  CHECK(choose_precision(PrecisionMode::kBf16).precision == Precision::kBf16);
  // Whether this CPU has AMX, as the kernel tells it (CPUID read independently of ours, and
  // the OS's consent to the tile state: Linux lists amx_tile only when it enables it).
  const std::string cpuinfo = hogwild::testing::slurp("/proc/cpuinfo");
  const std::string flags =
      cpuinfo.substr(cpuinfo.find("\nflags"),
                     cpuinfo.find('\n', cpuinfo.find("\nflags") + 1) - cpuinfo.find("\nflags")) +
      " ";
  REQUIRE(flags.find(" fpu ") != std::string::npos);  // the flags line was found
  const bool amx = flags.find(" amx_bf16 ") != std::string::npos &&
                   flags.find(" amx_tile ") != std::string::npos;
  const bool avx512_bf16 = flags.find(" avx512_bf16 ") != std::string::npos;
  MESSAGE("this CPU " << std::string(amx ? "has" : "has no") << " AMX and "
                      << std::string(avx512_bf16 ? "has" : "has no")
                      << " AVX512-BF16 (/proc/cpuinfo)");
  CHECK(cpu_has_amx() == amx);
  CHECK(cpu_has_avx512_bf16() == avx512_bf16);
  const std::string isa = cpu_isa_summary();  // the report says what the checks found
  CHECK((isa.find(", AVX512-BF16") != std::string::npos) == avx512_bf16);
  CHECK((isa.find(", AMX") != std::string::npos) == amx);
  const PrecisionChoice automatic = choose_precision(PrecisionMode::kAuto);
  CHECK(automatic.precision == (amx || avx512_bf16 ? Precision::kBf16 : Precision::kFp32));
  CHECK(automatic.why == (amx           ? "auto: the CPU has AMX"
                          : avx512_bf16 ? "auto: the CPU has AVX512-BF16"
                                        : "auto: this CPU has neither AVX512-BF16 nor AMX"));
  CHECK(choose_precision(PrecisionMode::kBf16).why.rfind("asked for; ", 0) == 0);
  CHECK(std::string(precision_name(Precision::kBf16)) == "bf16");
  Config config;  // the word is read once, with the configuration
  set_key(config, "precision", "bf16");
  CHECK(config.precision == PrecisionMode::kBf16);
  CHECK_THROWS_WITH_AS(set_key(config, "precision", "fp16"),
                       "invalid precision = 'fp16': must be fp32, bf16 or auto (--precision / "
                       "config key 'precision')",
                       InputError);
  CHECK_FALSE(cpu_model_name().empty());
}
