import re
p='src/dropout.cpp'
s=open(p).read()
s=s.replace('''  for (int64_t i = 0; i < count; ++i) {
    const uint64_t sample_key''','''  static const double p_drop = [] {
    const char* e = std::getenv("HOGWILD_DROPOUT_P");
    return e ? std::atof(e) : 0.5;
  }();
  if (p_drop != 0.5) {
    const uint64_t threshold = uint64_t(p_drop * 16777216.0);
    const float kept = float(1.0 / (1.0 - p_drop));
    for (int64_t i = 0; i < count; ++i) {
      const uint64_t sample_key = mix64(key + uint64_t(samples[i]) * 0x9e3779b97f4a7c15ull);
      for (int64_t j = 0; j < units; ++j) {
        const uint64_t u = mix64(sample_key + uint64_t(j)) >> 40;
        mask[i * units + j] = u >= threshold ? kept : 0.0f;
      }
    }
    return;
  }
  for (int64_t i = 0; i < count; ++i) {
    const uint64_t sample_key''')
s=s.replace('#include <cstring>','#include <cstdlib>\n#include <cstring>')
open(p,'w').write(s)
