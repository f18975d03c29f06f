#include "hogwild/precision.h"

#include <cpuid.h>
#include <fmt/format.h>

#include <cstdint>
#include <fstream>

#include "hogwild/error.h"

namespace hogwild {

namespace {

// XCR0's low word: the register states the kernel saves across context switches, or 0 when it
// enables none (no OSXSAVE). A feature the CPU lists is usable only with its states on.
uint32_t os_enabled_states() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  __cpuid(1, a, b, c, d);
  if (((c >> 27) & 1u) == 0) return 0;  // OSXSAVE
  uint32_t xcr0_low = 0, xcr0_high = 0;
  __asm__("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
  return xcr0_low;
}

}  // namespace

bool cpu_has_amx() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_max(0, nullptr) < 7) return false;
  __cpuid_count(7, 0, a, b, c, d);
  const bool amx_bf16 = (d >> 22) & 1u;
  const bool amx_tile = (d >> 24) & 1u;
  const uint32_t tiles = 3u << 17;  // XTILECFG and XTILEDATA
  return amx_bf16 && amx_tile && (os_enabled_states() & tiles) == tiles;
}

bool cpu_has_avx512_bf16() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_max(0, nullptr) < 7) return false;
  __cpuid_count(7, 1, a, b, c, d);
  const bool avx512_bf16 = (a >> 5) & 1u;
  const uint32_t avx512 = 0xE6u;  // SSE, AVX and the three AVX-512 states
  return avx512_bf16 && (os_enabled_states() & avx512) == avx512;
}

std::string cpu_model_name() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon != std::string::npos && colon + 2 <= line.size()) return line.substr(colon + 2);
  }
  return "unknown";
}

std::string cpu_isa_summary() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, flags;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) == 0) {
      flags = " " + line.substr(line.find(':') + 1) + " ";
      break;
    }
  }
  const auto has = [&](const char* flag) {
    return flags.find(std::string(" ") + flag + " ") != std::string::npos;
  };
  std::string isa = has("avx512f") ? "AVX-512" : has("avx2") ? "AVX2" : "SSE";
  if (cpu_has_avx512_bf16()) isa += ", AVX512-BF16";
  isa += cpu_has_amx() ? ", AMX" : ", no AMX";
  return isa;
}

const char* precision_name(Precision precision) {
  return precision == Precision::kBf16 ? "bf16" : "fp32";
}

PrecisionChoice choose_precision(PrecisionMode mode) {
  const bool amx = cpu_has_amx();
  const bool avx512_bf16 = cpu_has_avx512_bf16();
  const char* native = amx           ? "the CPU has AMX"
                       : avx512_bf16 ? "the CPU has AVX512-BF16"
                                     : "this CPU has neither AVX512-BF16 nor AMX";
  switch (mode) {
    case PrecisionMode::kFp32:
      return {Precision::kFp32, "asked for"};
    case PrecisionMode::kBf16:
      return {Precision::kBf16, fmt::format("asked for; {}", native)};
    case PrecisionMode::kAuto:
      break;
  }
  // bf16 wins only with native bf16 dot products: 1.5x fp32 with AVX512-BF16 (Zen 5), more
  // with AMX, at the same accuracy (docs/training-step.md, "bf16"); without them oneDNN
  // emulates bf16 and the conversions cost more than they save.
  if (amx || avx512_bf16) return {Precision::kBf16, fmt::format("auto: {}", native)};
  return {Precision::kFp32, fmt::format("auto: {}", native)};
}

}  // namespace hogwild
