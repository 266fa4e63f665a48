// Typed protobuf values travel through SQL as {"@type": ..., "value": <base64>} (codec.hpp's
// ValueFromJson/TypedValueJson), so a host's non-JSON state is stored, shown and passed back
// untouched. Metadata is a map of strings on the wire: string members go as they are, others
// as their JSON text.
#include "src/core/host_wire.hpp"

#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include <nlohmann/json.hpp>

#include "src/core/codec.hpp"

namespace spawn {

namespace {

// A malloc'd copy of a string.
char *Duplicate(const std::string &text) {
  char *copy = static_cast<char *>(malloc(text.size() + 1));
  if (copy == nullptr) throw std::bad_alloc();
  memcpy(copy, text.data(), text.size());
  copy[text.size()] = '\0';
  return copy;
}

// Copies a message into the caller's buffer.
void SetError(const std::string &message, char *error, size_t error_size) {
  if (error_size == 0) return;
  const size_t length = message.size() < error_size - 1 ? message.size() : error_size - 1;
  memcpy(error, message.data(), length);
  error[length] = '\0';
}

// A JSON text as a wire value (absent when NULL).
wire::Value ToValue(const char *json) {
  wire::Value value{};
  value.kind = wire::Value::Kind::kNone;
  if (json == nullptr) return value;
  std::string error;
  if (!wire::ValueFromJson(json, &value, &error)) throw std::runtime_error(error);
  return value;
}

// A wire value as a JSON text (NULL when absent).
char *FromValue(const wire::Value &value) {
  switch (value.kind) {
    case wire::Value::Kind::kNone:
      return nullptr;
    case wire::Value::Kind::kJson:
      return Duplicate(value.json);
    case wire::Value::Kind::kTyped:
      return Duplicate(wire::TypedValueJson(value));
  }
  return nullptr;
}

// Metadata members as strings.
std::map<std::string, std::string> ToMetadata(const char *json) {
  std::map<std::string, std::string> metadata;
  if (json == nullptr) return metadata;
  const nlohmann::json document = nlohmann::json::parse(json);
  if (!document.is_object()) return metadata;
  for (const auto &item : document.items())
    metadata[item.key()] =
        item.value().is_string() ? item.value().get<std::string>() : item.value().dump();
  return metadata;
}

}  // namespace

// Builds and encodes the invocation.
bool EncodeHostRequest(const HostRequest *request, unsigned char **out, size_t *size, char *error,
                       size_t error_size) noexcept {
  try {
    wire::Invocation invocation{};
    invocation.actor.system = request->system;
    invocation.actor.name = request->actor;
    if (request->parent != nullptr) invocation.actor.parent = request->parent;
    invocation.action = request->action;
    invocation.state = ToValue(request->state_json);
    invocation.payload = ToValue(request->payload_json);
    if (request->caller_actor != nullptr)
      invocation.caller = wire::ActorRef{request->system, request->caller_actor, ""};
    invocation.metadata = ToMetadata(request->metadata_json);
    invocation.spelling = request->v2_spelling ? wire::Spelling::kV2 : wire::Spelling::kV1;
    std::string bytes, message;
    if (!wire::EncodeActorInvocation(invocation, &bytes, &message)) {
      SetError(message, error, error_size);
      return false;
    }
    *out = static_cast<unsigned char *>(malloc(bytes.size() > 0 ? bytes.size() : 1));
    if (*out == nullptr) throw std::bad_alloc();
    memcpy(*out, bytes.data(), bytes.size());
    *size = bytes.size();
    return true;
  } catch (const std::exception &e) {
    SetError(e.what(), error, error_size);
    return false;
  }
}

// Decodes the response and converts its parts to JSON texts.
bool DecodeHostAnswer(const unsigned char *data, size_t size, const ProtobufCAllocator *allocator,
                      int64_t now_ms, HostAnswer *answer, char *error, size_t error_size) noexcept {
  memset(answer, 0, sizeof *answer);
  try {
    wire::InvocationResult result{};
    std::string message;
    if (!wire::DecodeActorInvocationResponse(data, size, allocator, now_ms, &result, &message)) {
      SetError(message, error, error_size);
      return false;
    }
    answer->actor_name = Duplicate(result.actor_name);
    answer->actor_system = Duplicate(result.actor_system);
    if (result.has_state) answer->state_json = FromValue(result.state);
    answer->reply_json = FromValue(result.reply);
    if (!result.workflow_json.empty()) answer->workflow_json = Duplicate(result.workflow_json);
    answer->checkpoint = result.checkpoint;
    return true;
  } catch (const std::exception &e) {
    HostAnswerFree(answer);
    SetError(e.what(), error, error_size);
    return false;
  }
}

// Frees every string and clears the answer.
void HostAnswerFree(HostAnswer *answer) noexcept {
  free(answer->actor_name);
  free(answer->actor_system);
  free(answer->state_json);
  free(answer->reply_json);
  free(answer->workflow_json);
  memset(answer, 0, sizeof *answer);
}

}  // namespace spawn
