// Builds spawn's JSON workflow object from a Workflow message: side effects become
// {"actor", "action", "payload", "delay_ms", "system", "register_ref", "metadata"}, the broadcast
// {"channel", "payload"}, a pipe or forward {"actor", "action", "register_ref"}.
#include "src/core/workflow_json.hpp"

#include "src/core/json_text.hpp"

namespace spawn::wire::detail {

namespace {

// Appends `"key": "<text>"` (with a leading comma unless first) after checking the text.
void AppendField(const char *key, const char *text, const char *field, bool first,
                 std::string *out) {
  if (!first) out->append(", ");
  AppendJsonString(key, out);
  out->append(": ");
  AppendJsonString(Text(text, field), out);
}

// Appends `, "payload": <json>` when the payload oneof holds a value.
void AppendPayload(bool has_value, const Google__Protobuf__Any *any,
                   const ProtobufCAllocator *alloc, std::string *out) {
  if (!has_value) return;
  const Value value = ValueFromAny(any, alloc, nullptr);
  if (value.kind == Value::Kind::kNone) return;
  out->append(", \"payload\": ");
  out->append(ValueJson(value));
}

// Milliseconds from `now_ms` until `scheduled_to`, never negative and never overflowing.
int64_t DelayMs(int64_t scheduled_to, int64_t now_ms) {
  if (scheduled_to <= now_ms) return 0;
  int64_t delay;
  if (__builtin_sub_overflow(scheduled_to, now_ms, &delay)) return INT64_MAX;
  return delay;
}

// One side effect: the InvocationRequest it carries, as a cast.
void AppendEffect(const Spawn__SideEffect *effect, const ProtobufCAllocator *alloc, int64_t now_ms,
                  std::string *out) {
  const Spawn__InvocationRequest *request = effect->request;
  if (request == nullptr) throw WireError("side effect without a request");
  const Spawn__Actors__ActorId *id = request->actor ? request->actor->id : nullptr;
  if (id == nullptr) throw WireError("side effect without a target actor");
  out->append("{");
  AppendField("actor", id->name, "SideEffect actor", true, out);
  AppendField("action", request->action_name, "SideEffect action", false, out);
  AppendPayload(request->payload_case == SPAWN__INVOCATION_REQUEST__PAYLOAD_VALUE, request->value,
                alloc, out);
  out->append(", \"delay_ms\": " + std::to_string(DelayMs(request->scheduled_to, now_ms)));
  const char *system = request->system ? request->system->name : id->system;
  if (system != nullptr && *system != '\0')
    AppendField("system", system, "SideEffect system", false, out);
  if (*request->register_ref != '\0')
    AppendField("register_ref", request->register_ref, "SideEffect register_ref", false, out);
  if (request->n_metadata > 0) {
    out->append(", \"metadata\": {");
    const StringMap metadata = MapFrom(request->metadata, request->n_metadata, "metadata");
    bool first = true;
    for (const auto &[key, value] : metadata) {
      AppendField(key.c_str(), value.c_str(), "metadata", first, out);
      first = false;
    }
    out->append("}");
  }
  out->append("}");
}

// A pipe or forward: the actor, action and register_ref it names.
void AppendRoute(const char *key, const char *actor, const char *action, const char *register_ref,
                 std::string *out) {
  out->append(", ");
  AppendJsonString(key, out);
  out->append(": {");
  AppendField("actor", actor, key, true, out);
  AppendField("action", action, key, false, out);
  if (*register_ref != '\0') AppendField("register_ref", register_ref, key, false, out);
  out->append("}");
}

}  // namespace

std::string WorkflowJson(const Spawn__Workflow *workflow, const ProtobufCAllocator *alloc,
                         int64_t now_ms) {
  if (workflow == nullptr) return std::string();
  std::string json = "{\"effects\": [";
  for (size_t i = 0; i < workflow->n_effects; ++i) {
    if (i > 0) json.append(", ");
    AppendEffect(workflow->effects[i], alloc, now_ms, &json);
  }
  json.append("]");
  if (const Spawn__Broadcast *broadcast = workflow->broadcast) {
    json.append(", \"broadcast\": {");
    AppendField("channel", broadcast->channel_group, "Broadcast channel", true, &json);
    AppendPayload(broadcast->payload_case == SPAWN__BROADCAST__PAYLOAD_VALUE, broadcast->value,
                  alloc, &json);
    json.append("}");
  }
  if (workflow->routing_case == SPAWN__WORKFLOW__ROUTING_PIPE && workflow->pipe != nullptr)
    AppendRoute("pipe", workflow->pipe->actor, workflow->pipe->action_name,
                workflow->pipe->register_ref, &json);
  if (workflow->routing_case == SPAWN__WORKFLOW__ROUTING_FORWARD && workflow->forward != nullptr)
    AppendRoute("forward", workflow->forward->actor, workflow->forward->action_name,
                workflow->forward->register_ref, &json);
  json.append("}");
  const bool empty = workflow->n_effects == 0 && workflow->broadcast == nullptr &&
                     workflow->routing_case == SPAWN__WORKFLOW__ROUTING__NOT_SET;
  return empty ? std::string() : json;
}

}  // namespace spawn::wire::detail
