// libFuzzer target of the name rule: any bytes go to NameProblem, whose verdict must agree
// with the rule's three parts (length 1 to 63 bytes, no control character).
#include <cstdint>
#include <cstdlib>

#include "names.hpp"

// One input: NameProblem on all of it; a verdict that breaks the rule aborts.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const char *name = reinterpret_cast<const char *>(data);
  const char *problem = spawn::NameProblem(name, size);
  bool control = false;
  for (std::size_t i = 0; i < size; ++i) control = control || data[i] < 0x20 || data[i] == 0x7f;
  const bool acceptable = size >= 1 && size <= spawn::kMaxNameBytes && !control;
  if (acceptable != (problem == nullptr)) std::abort();
  return 0;
}
