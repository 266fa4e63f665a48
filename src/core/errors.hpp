// Errors raised by the pure C++ zone. They carry a PostgreSQL SQLSTATE so the door guard
// (guard.hpp) can re-raise them as ordinary PostgreSQL errors; nothing here includes
// PostgreSQL headers.
#pragma once

#include <stdexcept>
#include <string>

namespace spawn {

// SQLSTATE codes used by the C++ zone, spelled as PostgreSQL spells them.
namespace sqlstate {
inline constexpr const char *kInvalidParameterValue = "22023";
inline constexpr const char *kInvalidTextRepresentation = "22P02";
inline constexpr const char *kNumericValueOutOfRange = "22003";
inline constexpr const char *kInvalidName = "42602";
inline constexpr const char *kUndefinedFunction = "42883";
inline constexpr const char *kStatementTooComplex = "54001";
inline constexpr const char *kInternal = "XX000";
inline constexpr const char *kOutOfMemory = "53200";
}  // namespace sqlstate

// An error with a SQLSTATE, a lowercase message and optional detail and hint.
class SpawnError : public std::runtime_error {
 public:
  // Builds an error; detail and hint may be empty.
  SpawnError(const char *state, const std::string &message, std::string detail = {},
             std::string hint = {})
      : std::runtime_error(message),
        sqlstate_(state),
        detail_(std::move(detail)),
        hint_(std::move(hint)) {}

  // The five-character SQLSTATE.
  const char *sqlstate() const noexcept { return sqlstate_; }
  // Extra detail for the user, or an empty string.
  const std::string &detail() const noexcept { return detail_; }
  // What the user can do about it, or an empty string.
  const std::string &hint() const noexcept { return hint_; }

 private:
  const char *sqlstate_;
  std::string detail_;
  std::string hint_;
};

}  // namespace spawn
