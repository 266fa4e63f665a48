// libFuzzer target of the cron parser: any text goes to Parse; a schedule it accepts goes to
// Next from several starting times, and Next's answer must be a later time that matches.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "src/core/cron.hpp"
#include "src/core/errors.hpp"

namespace {

// The last starting time Next answers for: 9999-12-31 23:59:59.
constexpr std::int64_t kLastAfter = 253402300799;

// Starting times: the epoch, 2026-01-01, a leap day's last second, year 9999's last second,
// before the epoch, and the extremes of the type.
constexpr std::int64_t kAfters[] = {0,      1767225600, 1835481599, 253402300799,
                                    -86400, INT64_MIN,  INT64_MAX,  INT64_MAX - 86400};

}  // namespace

// One input: Parse, and on success Next from every starting time; a wrong answer aborts.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string expression(reinterpret_cast<const char *>(data), size);
  spawn::cron::Schedule schedule;
  try {
    schedule = spawn::cron::Parse(expression);
  } catch (const spawn::SpawnError &) {
    return 0;
  }
  for (std::int64_t after : kAfters) {
    const std::int64_t next = spawn::cron::Next(schedule, after);
    if (next == -1) continue;
    // Strictly later, and itself the first match after the second before it.
    if (next <= after) std::abort();
    if (next - 1 <= kLastAfter && spawn::cron::Next(schedule, next - 1) != next) std::abort();
  }
  return 0;
}
