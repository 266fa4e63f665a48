// Cron expressions: 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds
// first. Fields take *, numbers, ranges a-b, steps */n and a-b/n, lists, and month and weekday
// names (jan..dec, sun..sat); day of week 7 is Sunday too. As in classic cron, when both
// day-of-month and day-of-week are restricted, a day matching either one fires. Times are UTC.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>

namespace spawn::cron {

// A parsed expression.
struct Schedule {
  std::bitset<60> seconds;
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days;     // 1..31
  std::bitset<13> months;   // 1..12
  std::bitset<7> weekdays;  // 0 = Sunday
  bool days_restricted = false;
  bool weekdays_restricted = false;
};

// Parses an expression; throws SpawnError (22023) naming the field that is wrong.
Schedule Parse(const std::string &expression);

// The first time strictly after `after` (Unix seconds, UTC) that matches, or -1 when none
// exists within five years (e.g. "0 0 31 2 *") or `after` lies outside years 1 to 9999.
std::int64_t Next(const Schedule &schedule, std::int64_t after);

}  // namespace spawn::cron

namespace spawn::cron {

// Parses `expression` and returns Next(schedule, after); throws SpawnError when invalid.
std::int64_t NextAfter(const std::string &expression, std::int64_t after);

}  // namespace spawn::cron
