// Name validation in the PostgreSQL zone: raises a PostgreSQL error, so it is safe to call
// inside PG_TRY blocks (where a C++ exception must never be thrown).
#pragma once

#include <cstddef>

namespace spawn {

// Raises 42602 when `name` (of `length` bytes) is not 1-63 bytes without control characters;
// `what` ("actor", "system", ...) appears in the message.
void RequireName(const char *what, const char *name, std::size_t length);

}  // namespace spawn
