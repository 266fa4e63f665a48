// libFuzzer target of the name rule: any bytes go to NameProblem (which decodes UTF-8 to find
// blank, invisible and control characters); its verdict must be one of the known reasons and
// agree with the parts of the rule that hold byte by byte.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#include "src/core/names.hpp"

namespace {

// True when `problem` is one of the reasons NameProblem documents.
bool KnownReason(const char *problem) {
  for (const char *reason : {"is empty", "is longer than 63 bytes", "contains a control character",
                             "contains an invisible character", "is blank"})
    if (std::strcmp(problem, reason) == 0) return true;
  return false;
}

}  // namespace

// One input: NameProblem on all of it; a verdict that breaks the rule aborts.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const char *problem = spawn::NameProblem(reinterpret_cast<const char *>(data), size);
  bool ascii_control = false, all_spaces = true, plain_ascii = true;
  for (std::size_t i = 0; i < size; ++i) {
    ascii_control = ascii_control || data[i] < 0x20 || data[i] == 0x7f;
    all_spaces = all_spaces && data[i] == ' ';
    plain_ascii = plain_ascii && data[i] > 0x20 && data[i] < 0x7f;
  }
  const bool fits = size >= 1 && size <= spawn::kMaxNameBytes;
  if (problem != nullptr && !KnownReason(problem)) std::abort();
  // Accepted names fit, hold no ASCII control byte and are not all spaces.
  if (problem == nullptr && (!fits || ascii_control || all_spaces)) std::abort();
  // Printable ASCII without spaces is always accepted.
  if (fits && plain_ascii && problem != nullptr) std::abort();
  return 0;
}
