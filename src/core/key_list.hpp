// The text of a state store key file (or a key command's output): one base64 key per line, the
// first one active (it seals new values), the others older keys still accepted for opening.
// Blank lines and lines starting with # are skipped. Pure C++, unit-tested and fuzzed.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "src/core/envelope.hpp"

namespace spawn {

// Most keys one server holds at a time (an active one and older ones being rotated out).
inline constexpr std::size_t kMaxKeys = 8;

using Key = std::array<unsigned char, envelope::kKeyBytes>;

// Parses the keys; throws SpawnError (22023) naming the line that is wrong (never its text),
// or when there is no key, more than kMaxKeys, or the same key twice.
std::vector<Key> ParseKeyList(const std::string &text);

}  // namespace spawn
