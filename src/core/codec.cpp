// The invocation half of the codec: the ActorInvocation spawn posts to an actor host and the
// ActorInvocationResponse it answers (pure C++ zone; see codec.hpp for the contract).
#include "src/core/codec.hpp"

#include "src/core/codec_support.hpp"
#include "src/core/workflow_json.hpp"

namespace spawn::wire {

using detail::Builder;

bool EncodeActorInvocation(const Invocation &invocation, std::string *out, std::string *error) {
  return detail::Guarded(error, [&] {
    Builder build;
    auto *context = build.New(spawn__context__init);
    context->state = build.Any(invocation.state, invocation.spelling);
    context->self = build.ActorId(invocation.actor);
    if (invocation.caller) context->caller = build.ActorId(*invocation.caller);
    context->metadata =
        build.Map(invocation.metadata, spawn__context__metadata_entry__init, &context->n_metadata);
    context->tags =
        build.Map(invocation.state_tags, spawn__context__tags_entry__init, &context->n_tags);

    auto *message = build.New(spawn__actor_invocation__init);
    message->actor = context->self;
    message->action_name = build.Text(invocation.action);
    message->current_context = context;
    message->caller = context->caller;
    build.Payload(message, invocation.payload, invocation.spelling,
                  SPAWN__ACTOR_INVOCATION__PAYLOAD_VALUE, SPAWN__ACTOR_INVOCATION__PAYLOAD_NOOP);
    detail::Pack(&message->base, out);
  });
}

bool DecodeActorInvocationResponse(const uint8_t *data, size_t size,
                                   const ProtobufCAllocator *alloc, int64_t now_ms,
                                   InvocationResult *out, std::string *error) {
  return detail::Guarded(error, [&] {
    auto unpacked = detail::Unpack(&spawn__actor_invocation_response__descriptor, alloc, data, size,
                                   "ActorInvocationResponse");
    const auto *response = reinterpret_cast<Spawn__ActorInvocationResponse *>(unpacked.get());
    InvocationResult result;
    result.actor_name = detail::Text(response->actor_name, "actor_name");
    result.actor_system = detail::Text(response->actor_system, "actor_system");
    if (const Spawn__Context *context = response->updated_context) {
      result.state = detail::ValueFromAny(context->state, alloc, nullptr);
      result.has_state = result.state.kind != Value::Kind::kNone;
      result.state_tags = detail::MapFrom(context->tags, context->n_tags, "Context.tags");
    }
    if (response->payload_case == SPAWN__ACTOR_INVOCATION_RESPONSE__PAYLOAD_VALUE)
      result.reply = detail::ValueFromAny(response->value, alloc, nullptr);
    result.workflow_json = detail::WorkflowJson(response->workflow, alloc, now_ms);
    result.checkpoint = response->checkpoint;
    *out = std::move(result);
  });
}

}  // namespace spawn::wire
