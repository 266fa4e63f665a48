// Name rules: non-empty, at most 63 bytes, no control characters. Anything else (spaces,
// dashes, dots, UTF-8) is allowed, because Spawn's own systems are named like "spawn-system".
#include "names.hpp"

namespace spawn {

// Reports why a name is unacceptable, or nullptr when it is fine.
const char *NameProblem(const char *name, std::size_t length) noexcept {
  if (length == 0) return "is empty";
  if (length > kMaxNameBytes) return "is longer than 63 bytes";
  for (std::size_t i = 0; i < length; ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f) return "contains a control character";
  }
  return nullptr;
}

}  // namespace spawn
