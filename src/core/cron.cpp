// Next() walks forward field by field (month, day, hour, minute, second), jumping to the start
// of the next unit whenever a field does not match, so it takes at most a few thousand steps.
#include "src/core/cron.hpp"

#include <cctype>
#include <ctime>
#include <sstream>
#include <vector>

#include "src/core/errors.hpp"

namespace spawn::cron {

namespace {

// The range and names of one field.
struct FieldSpec {
  const char *name;
  int low;
  int high;
  const char *const *names;  // names[i] is value low + i, or nullptr
  int name_count;            // entries in names (fewer than the values when aliases exist)
};

const char *const kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                   "jul", "aug", "sep", "oct", "nov", "dec"};
const char *const kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

// Raises the parse error for one field.
[[noreturn]] void Invalid(const FieldSpec &spec, const std::string &text, const std::string &why) {
  throw SpawnError(sqlstate::kInvalidParameterValue, "invalid cron expression",
                   "The " + std::string(spec.name) + " field \"" + text + "\" " + why + ".",
                   "Use 5 fields (minute hour day-of-month month day-of-week) or 6 with "
                   "seconds first, e.g. \"*/5 * * * *\" or \"*/10 * * * * *\".");
}

// Reads a number or a name of the field.
int Value(const FieldSpec &spec, const std::string &field, const std::string &text) {
  if (text.empty()) Invalid(spec, field, "has an empty value");
  if (std::isdigit(static_cast<unsigned char>(text[0]))) {
    for (char c : text)
      if (!std::isdigit(static_cast<unsigned char>(c))) Invalid(spec, field, "is not a number");
    if (text.size() > 4) Invalid(spec, field, "is out of range");
    int value = std::stoi(text);
    if (spec.names == kDayNames && value == 7) value = 0;
    if (value < spec.low || value > spec.high) Invalid(spec, field, "is out of range");
    return value;
  }
  if (spec.names != nullptr) {
    std::string lower;
    for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (int i = 0; i < spec.name_count; ++i)
      if (lower == spec.names[i]) return spec.low + i;
  }
  Invalid(spec, field, "has an unknown value \"" + text + "\"");
}

// Parses one field into the set of its values; returns false for "*".
template <std::size_t N>
bool ParseField(const FieldSpec &spec, const std::string &field, std::bitset<N> *out) {
  bool restricted = false;
  std::stringstream parts(field);
  std::string part;
  while (std::getline(parts, part, ',')) {
    int step = 1;
    std::string range = part;
    auto slash = part.find('/');
    if (slash != std::string::npos) {
      std::string step_text = part.substr(slash + 1);
      if (step_text.empty() || step_text.find_first_not_of("0123456789") != std::string::npos ||
          step_text.size() > 4)
        Invalid(spec, field, "has an invalid step");
      step = std::stoi(step_text);
      if (step < 1) Invalid(spec, field, "has a step below 1");
      range = part.substr(0, slash);
    }
    int low = spec.low, high = spec.high;
    if (spec.names == kDayNames) high = 6;
    if (range == "*") {
      if (step != 1) restricted = true;
    } else {
      restricted = true;
      auto dash = range.find('-');
      if (dash == std::string::npos) {
        low = Value(spec, field, range);
        if (slash == std::string::npos) high = low;
      } else {
        low = Value(spec, field, range.substr(0, dash));
        high = Value(spec, field, range.substr(dash + 1));
        if (high < low) Invalid(spec, field, "has a range that ends before it starts");
      }
    }
    for (int v = low; v <= high; v += step) out->set(static_cast<std::size_t>(v));
  }
  if (field.empty() || field.back() == ',') Invalid(spec, field, "has an empty value");
  return restricted;
}

// Days in a month of a year.
int DaysIn(int year, int month) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// True when the calendar day matches the day-of-month and day-of-week fields.
bool DayMatches(const Schedule &s, const std::tm &t) {
  const bool dom = s.days.test(static_cast<std::size_t>(t.tm_mday));
  const bool dow = s.weekdays.test(static_cast<std::size_t>(t.tm_wday));
  if (s.days_restricted && s.weekdays_restricted) return dom || dow;
  return dom && dow;
}

}  // namespace

// Splits the expression and parses each field.
Schedule Parse(const std::string &expression) {
  std::vector<std::string> fields;
  std::stringstream words(expression);
  std::string word;
  while (words >> word) fields.push_back(word);
  if (fields.size() != 5 && fields.size() != 6)
    throw SpawnError(sqlstate::kInvalidParameterValue, "invalid cron expression",
                     "\"" + expression + "\" has " + std::to_string(fields.size()) +
                         " fields; 5 or 6 are expected.",
                     "Use minute hour day-of-month month day-of-week, optionally preceded by "
                     "seconds, e.g. \"0 3 * * *\".");
  Schedule s;
  std::size_t i = 0;
  if (fields.size() == 6) {
    ParseField(FieldSpec{"seconds", 0, 59, nullptr, 0}, fields[i++], &s.seconds);
  } else {
    s.seconds.set(0);
  }
  ParseField(FieldSpec{"minute", 0, 59, nullptr, 0}, fields[i++], &s.minutes);
  ParseField(FieldSpec{"hour", 0, 23, nullptr, 0}, fields[i++], &s.hours);
  s.days_restricted =
      ParseField(FieldSpec{"day-of-month", 1, 31, nullptr, 0}, fields[i++], &s.days);
  ParseField(FieldSpec{"month", 1, 12, kMonthNames, 12}, fields[i++], &s.months);
  s.weekdays_restricted =
      ParseField(FieldSpec{"day-of-week", 0, 7, kDayNames, 7}, fields[i++], &s.weekdays);
  return s;
}

// Walks forward from after + 1 second. Starting times outside years 1 to 9999 get -1, so the
// arithmetic below cannot overflow (a fuzzing finding for after = INT64_MAX).
std::int64_t Next(const Schedule &s, std::int64_t after) {
  constexpr std::int64_t kFirst = -62135596800;  // 0001-01-01 00:00:00
  constexpr std::int64_t kLast = 253402300799;   // 9999-12-31 23:59:59
  if (after < kFirst || after > kLast) return -1;
  std::time_t t = static_cast<std::time_t>(after + 1);
  const std::time_t limit = t + 5LL * 366 * 24 * 3600;
  std::tm tm{};
  while (t < limit) {
    gmtime_r(&t, &tm);
    if (!s.months.test(static_cast<std::size_t>(tm.tm_mon + 1))) {
      t += static_cast<std::time_t>(DaysIn(tm.tm_year + 1900, tm.tm_mon + 1) - tm.tm_mday + 1) *
               86400 -
           (tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
      continue;
    }
    if (!DayMatches(s, tm)) {
      t += 86400 - (tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
      continue;
    }
    if (!s.hours.test(static_cast<std::size_t>(tm.tm_hour))) {
      t += 3600 - (tm.tm_min * 60 + tm.tm_sec);
      continue;
    }
    if (!s.minutes.test(static_cast<std::size_t>(tm.tm_min))) {
      t += 60 - tm.tm_sec;
      continue;
    }
    if (!s.seconds.test(static_cast<std::size_t>(tm.tm_sec))) {
      t += 1;
      continue;
    }
    return static_cast<std::int64_t>(t);
  }
  return -1;
}

}  // namespace spawn::cron

namespace spawn::cron {

// Parse and Next in one call.
std::int64_t NextAfter(const std::string &expression, std::int64_t after) {
  return Next(Parse(expression), after);
}

}  // namespace spawn::cron
