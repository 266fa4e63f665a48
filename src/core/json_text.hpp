// JSON text building blocks for the wire codec: string quoting that checks UTF-8, so a protobuf
// string with invalid bytes is refused instead of producing JSON that PostgreSQL would reject.
#pragma once

#include <string>
#include <string_view>

namespace spawn::wire {

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF).
bool IsUtf8(std::string_view text);

// Appends `text` as a quoted JSON string to `out`; false (and `out` unspecified) when `text` is
// not valid UTF-8.
bool AppendJsonString(std::string_view text, std::string *out);

}  // namespace spawn::wire
