// Unit tests of cron parsing and next-time computation.
#include <gtest/gtest.h>

#include <cstdint>

#include "src/core/cron.hpp"
#include "src/core/errors.hpp"

namespace {

using spawn::cron::Next;
using spawn::cron::Parse;

// 2026-01-01 00:00:00 UTC, a Thursday.
constexpr std::int64_t kNewYear = 1767225600;

TEST(Cron, EveryMinute) {
  auto s = Parse("* * * * *");
  EXPECT_EQ(Next(s, kNewYear), kNewYear + 60);
  EXPECT_EQ(Next(s, kNewYear + 59), kNewYear + 60);
}

TEST(Cron, SecondsField) {
  auto s = Parse("*/10 * * * * *");
  EXPECT_EQ(Next(s, kNewYear), kNewYear + 10);
  EXPECT_EQ(Next(s, kNewYear + 55), kNewYear + 60);
}

TEST(Cron, StepsRangesAndLists) {
  auto s = Parse("15,45 9-17/4 * * *");
  EXPECT_EQ(Next(s, kNewYear), kNewYear + 9 * 3600 + 15 * 60);
  EXPECT_EQ(Next(s, kNewYear + 9 * 3600 + 15 * 60), kNewYear + 9 * 3600 + 45 * 60);
  EXPECT_EQ(Next(s, kNewYear + 9 * 3600 + 45 * 60), kNewYear + 13 * 3600 + 15 * 60);
}

TEST(Cron, WeekdayNamesAndSundaySeven) {
  // The first Monday of 2026 is January 5th.
  EXPECT_EQ(Next(Parse("0 8 * * mon"), kNewYear), kNewYear + 4 * 86400 + 8 * 3600);
  EXPECT_EQ(Next(Parse("0 0 * * 7"), kNewYear), kNewYear + 3 * 86400);
  EXPECT_EQ(Next(Parse("0 0 * * SUN"), kNewYear), kNewYear + 3 * 86400);
}

TEST(Cron, DayOfMonthOrDayOfWeek) {
  // The 10th, or any Saturday: Saturday January 3rd comes first.
  EXPECT_EQ(Next(Parse("0 0 10 * sat"), kNewYear), kNewYear + 2 * 86400);
}

TEST(Cron, MonthsAndLeapDays) {
  EXPECT_EQ(Next(Parse("0 0 1 mar *"), kNewYear), 1772323200);  // 2026-03-01
  EXPECT_EQ(Next(Parse("0 0 29 2 *"), kNewYear), 1835395200);   // 2028-02-29
  EXPECT_EQ(Next(Parse("0 0 31 2 *"), kNewYear), -1);
}

TEST(Cron, RejectsBadExpressions) {
  for (const char *bad :
       {"", "* * * *", "* * * * * * *", "61 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *",
        "* * * * 8", "*/0 * * * *", "5-1 * * * *", "a * * * *", "* * * foo *", "1,,2 * * * *",
        "1, * * * *", "0 8 * * mon-fry", "0 8 * * fry", "* * * * sunday", "* * * decx *"}) {
    try {
      Parse(bad);
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const spawn::SpawnError &e) {
      EXPECT_STREQ(e.sqlstate(), "22023") << bad;
      EXPECT_STREQ(e.what(), "invalid cron expression");
    }
  }
}

// Fuzzing finding: Next(s, INT64_MAX) overflowed computing after + 1 (UBSan).
TEST(Cron, StartingTimesOutsideYearsOneTo9999HaveNoAnswer) {
  auto s = Parse("* * * * *");
  EXPECT_EQ(Next(s, INT64_MAX), -1);
  EXPECT_EQ(Next(s, INT64_MAX - 86400), -1);
  EXPECT_EQ(Next(s, INT64_MIN), -1);
  EXPECT_EQ(Next(s, 253402300799 + 1), -1);
  EXPECT_EQ(Next(s, 253402300799 - 60), 253402300740);
  EXPECT_EQ(Next(s, -62135596800), -62135596800 + 60);
}

}  // namespace
