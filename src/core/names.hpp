// Validation of the names users give to systems, actors, actions and channels.
#pragma once

#include <cstddef>

namespace spawn {

// Longest accepted name in bytes, the same bound as a PostgreSQL identifier.
inline constexpr std::size_t kMaxNameBytes = 63;

// The hint of every invalid-name error, wherever the name was found.
inline constexpr const char *kNameRuleHint =
    "Names are 1 to 63 bytes, not blank, without control or invisible characters.";

// Returns nullptr when `name` (of `length` bytes) is acceptable, otherwise a short reason
// such as "is empty" that completes the sentence "<what> name <reason>".
const char *NameProblem(const char *name, std::size_t length) noexcept;

}  // namespace spawn
