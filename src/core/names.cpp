// Name rules: non-empty, at most 63 bytes, no control characters, not blank, no invisible
// characters (zero-width and format characters, which make two different names look alike).
// Anything else (spaces, dashes, dots, UTF-8) is allowed, because Spawn's own systems are
// named like "spawn-system".
#include "src/core/names.hpp"

#include <cstdint>

namespace spawn {

namespace {

// Decodes the UTF-8 sequence at name[*i] and advances *i; an invalid or truncated sequence
// yields its first byte (the server's encoding checks have already run on text arguments).
std::uint32_t NextCodePoint(const char *name, std::size_t length, std::size_t *i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(name[k]); };
  const unsigned char lead = byte(*i);
  const int extra = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : lead >= 0xc0 ? 1 : 0;
  if (extra == 0 || *i + extra >= length) {
    *i += 1;
    return lead;
  }
  std::uint32_t code = lead & (0x3f >> extra);
  for (int k = 1; k <= extra; ++k) {
    if ((byte(*i + k) & 0xc0) != 0x80) {
      *i += 1;
      return lead;
    }
    code = (code << 6) | (byte(*i + k) & 0x3f);
  }
  *i += extra + 1;
  return code;
}

// Zero-width and format characters that render as nothing.
bool Invisible(std::uint32_t c) {
  return c == 0xad || c == 0x34f || c == 0x61c || c == 0x180e || (c >= 0x200b && c <= 0x200f) ||
         (c >= 0x202a && c <= 0x202e) || (c >= 0x2060 && c <= 0x206f) || c == 0xfeff ||
         (c >= 0xfe00 && c <= 0xfe0f);
}

// Characters that render as blank space.
bool Space(std::uint32_t c) {
  return c == 0x20 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x202f ||
         c == 0x205f || c == 0x3000;
}

}  // namespace

// Reports why a name is unacceptable, or nullptr when it is fine.
const char *NameProblem(const char *name, std::size_t length) noexcept {
  if (length == 0) return "is empty";
  if (length > kMaxNameBytes) return "is longer than 63 bytes";
  bool visible = false;
  for (std::size_t i = 0; i < length;) {
    const std::uint32_t c = NextCodePoint(name, length, &i);
    if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)) return "contains a control character";
    if (Invisible(c)) return "contains an invisible character";
    visible |= !Space(c);
  }
  return visible ? nullptr : "is blank";
}

}  // namespace spawn
