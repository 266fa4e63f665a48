// libFuzzer target of the option document checks. The first byte picks the document (its value
// modulo 6, so '0'..'5' in a readable seed): 0 actions, 1 timers, 2 channels, 3 tags, 4 system
// options, 5 actions, timers and channels separated by NUL bytes. Only SpawnError may escape a
// check; any other exception, crash or sanitizer report is a finding.
#include <cstdint>
#include <string_view>

#include "src/core/errors.hpp"
#include "src/core/options.hpp"

namespace {

// The actions that timers and channels of kinds 1 and 2 may name.
constexpr std::string_view kActions = R"({"a": "f", "tick": "g", "receive": "h"})";

// Splits off the text before the next NUL byte (all of it when there is none).
std::string_view NextPart(std::string_view *rest, std::string_view missing) {
  if (rest->empty()) return missing;
  const auto end = rest->find('\0');
  const std::string_view part = rest->substr(0, end);
  *rest = end == std::string_view::npos ? std::string_view() : rest->substr(end + 1);
  return part;
}

// Runs the check the first byte picks on the rest.
void Check(std::uint8_t kind, std::string_view document) {
  namespace options = spawn::options;
  switch (kind % 6) {
    case 0:
      options::CheckActions(document);
      break;
    case 1:
      options::CheckSchedules(kActions, document, "[]");
      break;
    case 2:
      options::CheckSchedules(kActions, "[]", document);
      break;
    case 3:
      options::CheckTags(document);
      break;
    case 4:
      options::CheckSystemOptions(document);
      break;
    default: {
      const std::string_view actions = NextPart(&document, "{}");
      const std::string_view timers = NextPart(&document, "[]");
      options::CheckSchedules(actions, timers, NextPart(&document, "[]"));
    }
  }
}

}  // namespace

// One input: one check; its SpawnError is an ordinary answer.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  if (size == 0) return 0;
  try {
    Check(data[0], std::string_view(reinterpret_cast<const char *>(data) + 1, size - 1));
  } catch (const spawn::SpawnError &) {
  }
  return 0;
}
