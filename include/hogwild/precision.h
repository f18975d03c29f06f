// The arithmetic of the training step: fp32 throughout, or bf16 compute (convolutions and
// linear layers through oneDNN, activations in bf16) with fp32 master weights: the
// parameters in the shared segment, their gradients and the SGD update stay fp32. bf16 pays
// where the CPU has native bf16 dot products (AVX512-BF16 or AMX, oneDNN's avx512_core_bf16
// and avx512_core_amx kernels); elsewhere it converts more than it saves, so `auto` picks it
// only there. No torch here.
#pragma once

#include <string>

namespace hogwild {

enum class Precision { kFp32, kBf16 };
// What --precision asks for.
enum class PrecisionMode { kAuto, kFp32, kBf16 };

struct PrecisionChoice {
  Precision precision = Precision::kFp32;
  std::string why;  // for the banner and the JSON: "asked for", "auto: the CPU has AMX", ...
};

// What --precision's mode gives on this CPU, and why.
PrecisionChoice choose_precision(PrecisionMode mode);

const char* precision_name(Precision precision);

// The CPU has AMX tiles with bf16 (cpuid leaf 7: AMX-BF16 and AMX-TILE) and the kernel
// enables their state (XCR0 bits 17 and 18).
bool cpu_has_amx();

// The CPU has AVX512-BF16 (cpuid leaf 7 subleaf 1, EAX bit 5: VDPBF16PS) and the kernel
// enables the AVX-512 state (XCR0 bits 5 to 7).
bool cpu_has_avx512_bf16();

// What the CPU offers the step, for reports: "AVX-512, AVX512-BF16, AMX", "AVX2", ...
std::string cpu_isa_summary();

// The CPU's model name as /proc/cpuinfo gives it ("AMD EPYC", "Intel(R) Xeon(R) ..."), or
// "unknown".
std::string cpu_model_name();

}  // namespace hogwild
