// The Spawn wire codec: the protobuf messages of the actor-host protocol (src/core/proto, compiled
// by protoc-c) converted from and to plain C++ structs. Pure C++ zone: no PostgreSQL headers.
// Exceptions stay inside; every public function answers bool (or a value that cannot fail) and
// an error text, so the PostgreSQL zone can call it without a try block of its own. Decoders
// take the ProtobufCAllocator to unpack with (nullptr: protobuf-c's default), copy everything
// out into std types and free the message before returning.
#pragma once

#include <protobuf-c/protobuf-c.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace spawn::wire {

// The package spelling inside Any.type_url: v1 SDKs use eigr.functions.protocol[.actors], the
// 2.x proxy spawn[.actors]. Field numbers are identical.
enum class Spelling { kV1, kV2 };

// A state, payload or reply on the wire. kJson: JSON text carried verbatim in JSONType.content.
// kTyped: an Any of another type, kept as opaque bytes and passed back untouched.
struct Value {
  enum class Kind { kNone, kJson, kTyped } kind = Kind::kNone;
  std::string json;
  std::string type_url;
  std::string bytes;
};

using StringMap = std::map<std::string, std::string>;

// {"@type": "<type_url>", "value": "<base64>"}: how SQL sees a typed value.
std::string TypedValueJson(const Value &value);

// The value as JSON text: the JSON itself, the typed object above, or "null" for kNone.
std::string ValueJson(const Value &value);

// Reads a value from SQL: an object with exactly the string keys "@type" and "value" (valid
// base64, original variant) becomes kTyped, any other JSON kJson. Fails on invalid JSON.
bool ValueFromJson(const std::string &json_text, Value *out, std::string *error);

// An actor instance as the protocol names it (ActorId).
struct ActorRef {
  std::string system, name, parent;
};

// What spawn sends to a host: an ActorInvocation.
struct Invocation {
  ActorRef actor;
  std::string action;
  Value state;
  StringMap state_tags;
  Value payload;
  std::optional<ActorRef> caller;
  StringMap metadata;
  Spelling spelling = Spelling::kV1;
};

// Encodes an ActorInvocation (Context.state, self, caller, metadata, tags = state tags; payload
// Noop when there is none).
bool EncodeActorInvocation(const Invocation &invocation, std::string *out, std::string *error);

// A host's ActorInvocationResponse. workflow_json is spawn's own workflow object (see
// docs/workflows.md), empty when the response carries no workflow or an empty one.
struct InvocationResult {
  std::string actor_name, actor_system;
  bool has_state = false;
  Value state;
  StringMap state_tags;
  Value reply;
  std::string workflow_json;
  bool checkpoint = false;
};

// Decodes an ActorInvocationResponse; an empty body, undecodable bytes, strings that are not
// UTF-8 or JSONType content that is not JSON are errors. Side effects scheduled at epoch ms
// `scheduled_to` get delay_ms = max(0, scheduled_to - now_ms).
bool DecodeActorInvocationResponse(const uint8_t *data, size_t size,
                                   const ProtobufCAllocator *alloc, int64_t now_ms,
                                   InvocationResult *out, std::string *error);

// RequestStatus.status of the gateway's answers.
enum class Status { kUnknown = 0, kOk = 1, kActorNotFound = 2, kError = 3 };

// ServiceInfo of a registering host.
struct ServiceInfo {
  std::string service_name, service_version, service_runtime;
  std::string support_library_name, support_library_version;
  int32_t protocol_major_version = 0, protocol_minor_version = 0;
};

// Settings.kind; UNKNOW_KIND (0) decodes as kNamed, numbers past PROJECTION as kUnknown.
enum class ActorKind { kNamed, kUnnamed, kPooled, kProxy, kTask, kProjection, kUnknown };

// A FixedTimerAction: its `seconds` field holds milliseconds.
struct TimerAction {
  std::string action;
  int64_t every_ms = 0;
};

// A channel subscription; an empty action on the wire means "receive".
struct ChannelSubscription {
  std::string topic, action;
};

// One actor of a RegistrationRequest. Timeouts are nullopt when the strategy is absent.
struct ActorDefinition {
  ActorRef id;
  ActorKind kind = ActorKind::kNamed;
  bool stateful = false;
  std::optional<int64_t> snapshot_timeout_ms, deactivation_timeout_ms;
  int32_t min_pool_size = 0, max_pool_size = 0;
  std::string state_type;
  std::vector<std::string> actions;
  std::vector<TimerAction> timer_actions;
  std::vector<ChannelSubscription> channels;
  StringMap tags;
  Value initial_state;
  StringMap state_tags;
};

// A host announcing its system and actors (POST /api/v1/system).
struct RegistrationRequest {
  ServiceInfo service_info;
  std::string system;
  std::vector<ActorDefinition> actors;
};

// An invocation posted to the gateway (POST .../actors/{actor}/invoke). `spelling` is the one
// the payload used (kV1 when it tells nothing).
struct InvocationRequest {
  std::string system;
  ActorRef actor;
  std::string action;
  Value payload;
  bool async = false;
  std::optional<ActorRef> caller;
  StringMap metadata;
  int64_t scheduled_to = 0;
  bool pooled = false;
  std::string register_ref;
  Spelling spelling = Spelling::kV1;
};

// Instances of unnamed actors to spawn (POST .../actors/spawn).
struct SpawnRequest {
  std::vector<ActorRef> actors;
};

bool DecodeRegistrationRequest(const uint8_t *data, size_t size, const ProtobufCAllocator *alloc,
                               RegistrationRequest *out, std::string *error);
bool DecodeInvocationRequest(const uint8_t *data, size_t size, const ProtobufCAllocator *alloc,
                             InvocationRequest *out, std::string *error);
bool DecodeSpawnRequest(const uint8_t *data, size_t size, const ProtobufCAllocator *alloc,
                        SpawnRequest *out, std::string *error);

// RegistrationResponse with ProxyInfo (protocol 1.1, the given name and version). The spelling
// is accepted for symmetry; the message holds no Any.
bool EncodeRegistrationResponse(Status status, const std::string &message,
                                const std::string &proxy_name, const std::string &proxy_version,
                                Spelling spelling, std::string *out, std::string *error);

// InvocationResponse: status, system name, actor id, reply (Noop when kNone).
bool EncodeInvocationResponse(Status status, const std::string &message, const std::string &system,
                              const ActorRef &actor, const Value &reply, Spelling spelling,
                              std::string *out, std::string *error);

bool EncodeSpawnResponse(Status status, const std::string &message, std::string *out,
                         std::string *error);

}  // namespace spawn::wire
