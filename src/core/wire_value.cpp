// How wire values look to SQL: JSON as itself, typed protobuf values as
// {"@type": "<type_url>", "value": "<base64>"} (libsodium base64, original variant), and back.
#include <sodium.h>

#include <nlohmann/json.hpp>

#include "src/core/codec.hpp"
#include "src/core/codec_support.hpp"
#include "src/core/json_text.hpp"

namespace spawn::wire {

namespace {

// Base64 (original variant, padded) of `bytes`.
std::string Base64(const std::string &bytes) {
  std::string text(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(text.data(), text.size(), reinterpret_cast<const unsigned char *>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  text.resize(text.size() - 1);  // the terminating NUL
  return text;
}

// Decodes base64 (original variant) into `bytes`; false unless all of `text` is valid.
bool FromBase64(const std::string &text, std::string *bytes) {
  bytes->assign(text.size() / 4 * 3 + 3, '\0');
  size_t length = 0;
  const char *end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char *>(bytes->data()), bytes->size(),
                        text.data(), text.size(), nullptr, &length, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size())
    return false;
  bytes->resize(length);
  return true;
}

}  // namespace

std::string TypedValueJson(const Value &value) {
  std::string json = "{\"@type\": ";
  // A type_url decoded from the wire was checked to be UTF-8; one built elsewhere may not be.
  if (!AppendJsonString(value.type_url, &json)) AppendJsonString("", &json);
  json += ", \"value\": \"" + Base64(value.bytes) + "\"}";
  return json;
}

std::string ValueJson(const Value &value) {
  switch (value.kind) {
    case Value::Kind::kJson:
      return value.json;
    case Value::Kind::kTyped:
      return TypedValueJson(value);
    case Value::Kind::kNone:
      break;
  }
  return "null";
}

bool ValueFromJson(const std::string &json_text, Value *out, std::string *error) {
  return detail::Guarded(error, [&] {
    // Without an '@' or a backslash the text cannot hold the key "@type", not even escaped, so
    // it is plain JSON: nlohmann's acceptor checks it without building a document (most states
    // and payloads take this path on every external call).
    if (json_text.find_first_of("@\\") == std::string::npos) {
      if (!nlohmann::json::accept(json_text)) throw detail::WireError("value is not valid JSON");
      *out = Value{Value::Kind::kJson, json_text, {}, {}};
      return;
    }
    const auto parsed = nlohmann::json::parse(json_text, nullptr, false);
    if (parsed.is_discarded()) throw detail::WireError("value is not valid JSON");
    Value value;
    if (parsed.is_object() && parsed.size() == 2 && parsed.contains("@type") &&
        parsed.contains("value") && parsed["@type"].is_string() &&
        !parsed["@type"].get_ref<const std::string &>().empty() && parsed["value"].is_string() &&
        FromBase64(parsed["value"].get<std::string>(), &value.bytes)) {
      value.kind = Value::Kind::kTyped;
      value.type_url = parsed["@type"].get<std::string>();
    } else {
      value = Value{Value::Kind::kJson, json_text, {}, {}};
    }
    *out = std::move(value);
  });
}

}  // namespace spawn::wire
