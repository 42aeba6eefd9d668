// Helpers shared by the fuzz targets. A target may let only the library's documented exceptions
// escape its calls; anything else (std::out_of_range, std::bad_alloc from an unchecked size, ...)
// propagates, and libFuzzer reports it as a crash.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fuzzer/FuzzedDataProvider.h>
#include <limits>

// A property the library promises did not hold: abort, so libFuzzer keeps the input.
#define FUZZ_CHECK(cond)                                                          \
  do {                                                                            \
    if (!(cond)) {                                                                \
      std::fprintf(stderr, "fuzz property failed: %s (%s:%d)\n", #cond, __FILE__, \
                   __LINE__);                                                     \
      std::abort();                                                               \
    }                                                                             \
  } while (0)

namespace fuzz {

// Doubles as JS or a file could pass them: any bit pattern (NaN, Inf, denormals) or one of the
// boundary values the argument checks care about.
inline double any_double(FuzzedDataProvider& in) {
  static constexpr double kSpecial[] = {0.0, -0.0, 0.5, 1.0, -1.0, 2.0, 6.0, 29.0, 30.0, 1000.0, 1001.0,
                                        1e-300, 1e300, 9007199254740992.0, 9007199254740994.0,
                                        2147483647.0, 2147483648.0, -2147483649.0, 4294967296.0,
                                        std::numeric_limits<double>::infinity(),
                                        -std::numeric_limits<double>::infinity(),
                                        std::numeric_limits<double>::quiet_NaN(),
                                        std::numeric_limits<double>::denorm_min()};
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: return kSpecial[in.ConsumeIntegralInRange<size_t>(0, std::size(kSpecial) - 1)];
    case 1: return static_cast<double>(in.ConsumeIntegralInRange<int>(-3, 40));
    case 2: return in.ConsumeFloatingPointInRange<double>(-20.0, 20.0);
    default: {
      const uint64_t bits = in.ConsumeIntegral<uint64_t>();
      double d;
      std::memcpy(&d, &bits, sizeof d);
      return d;
    }
  }
}

}  // namespace fuzz
