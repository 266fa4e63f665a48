// libFuzzer target of ValueFromJson, which reads the JSON values SQL passes to a host (typed
// ones as {"@type", "value"}). A JSON value must stay verbatim; a typed one must round-trip.
#include <cstdint>

#include "test/fuzz/wire_fuzz.hpp"

// One input: one JSON text.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  spawn::wire::Value value;
  std::string error;
  if (!spawn::wire::ValueFromJson(text, &value, &error)) return 0;
  if (value.kind == spawn::wire::Value::Kind::kJson && value.json != text) std::abort();
  spawn::wire::fuzz::RequireValue(value);
  return 0;
}
