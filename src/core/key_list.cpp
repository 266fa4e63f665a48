// Lines are trimmed of surrounding white space (a trailing newline or \r\n from an editor or a
// command is normal); the error messages never repeat a line, which may hold key material.
#include "src/core/key_list.hpp"

#include <algorithm>

#include "src/core/errors.hpp"

namespace spawn {

namespace {

// Raises the error of a key list, with the hint every such error shares.
[[noreturn]] void Invalid(const std::string &detail) {
  throw SpawnError(sqlstate::kInvalidParameterValue, "invalid state store key list", detail,
                   "Write one key per line, each the base64 of 32 random bytes "
                   "(head -c 32 /dev/urandom | base64), the active key first.");
}

// True for the white space a line may carry around its key.
bool Blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

}  // namespace

// Splits into lines, skips blanks and comments, decodes each key.
std::vector<Key> ParseKeyList(const std::string &text) {
  std::vector<Key> keys;
  std::size_t line_number = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    ++line_number;
    std::size_t first = start, last = end;
    while (first < last && Blank(text[first])) ++first;
    while (last > first && Blank(text[last - 1])) --last;
    if (first < last && text[first] != '#') {
      if (keys.size() == kMaxKeys)
        Invalid("More than " + std::to_string(kMaxKeys) + " keys are listed.");
      Key key;
      if (!envelope::DecodeKey(text.data() + first, last - first, key.data()))
        Invalid("Line " + std::to_string(line_number) + " is not 32 bytes of base64.");
      if (std::find(keys.begin(), keys.end(), key) != keys.end())
        Invalid("Line " + std::to_string(line_number) + " repeats an earlier key.");
      keys.push_back(key);
    }
    start = end + 1;
  }
  if (keys.empty()) Invalid("No key is listed.");
  return keys;
}

}  // namespace spawn
