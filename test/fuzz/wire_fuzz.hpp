// Shared checks of the wire codec's fuzz targets: whatever a decoder accepted must come out as
// valid JSON wherever SQL will read it as JSON. A violation aborts, which libFuzzer reports.
#pragma once

#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "src/core/codec.hpp"

namespace spawn::wire::fuzz {

// Aborts unless `text` is JSON.
inline void RequireJson(const std::string &text) {
  if (!nlohmann::json::accept(text)) std::abort();
}

// Aborts unless the value's SQL form is JSON, and a typed value comes back from it unchanged.
inline void RequireValue(const Value &value) {
  RequireJson(ValueJson(value));
  if (value.kind != Value::Kind::kTyped) return;
  Value back;
  std::string error;
  if (!ValueFromJson(TypedValueJson(value), &back, &error) || back.kind != Value::Kind::kTyped ||
      back.type_url != value.type_url || back.bytes != value.bytes)
    std::abort();
}

}  // namespace spawn::wire::fuzz
