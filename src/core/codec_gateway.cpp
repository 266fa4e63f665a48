// The gateway half of the codec: requests hosts post to spawn's HTTP gateway (registration,
// invocation, spawn) decoded into plain structs, and the answers encoded (pure C++ zone).
#include <cstring>

#include "src/core/codec.hpp"
#include "src/core/codec_support.hpp"

namespace spawn::wire {

using detail::Builder;
using detail::Text;

namespace {

// Settings.kind as ActorKind: 0 (UNKNOW_KIND) is named, unknown numbers kUnknown. protobuf-c
// stores any number it reads in the enum field, so it is read as the int32 it is: loading an
// out-of-range value as the enum type is undefined behaviour (found by the registration fuzzer).
ActorKind KindFrom(const Spawn__Actors__Kind *field) {
  int32_t kind;
  static_assert(sizeof kind == sizeof *field, "protobuf-c enums are int-sized");
  std::memcpy(&kind, field, sizeof kind);
  switch (kind) {
    case 0:
    case 1:
      return ActorKind::kNamed;
    case 2:
      return ActorKind::kUnnamed;
    case 3:
      return ActorKind::kPooled;
    case 4:
      return ActorKind::kProxy;
    case 5:
      return ActorKind::kTask;
    case 6:
      return ActorKind::kProjection;
    default:
      return ActorKind::kUnknown;
  }
}

// The timeout of a snapshot or deactivation strategy, when it has one.
template <typename Strategy>
std::optional<int64_t> TimeoutOf(const Strategy *strategy) {
  if (strategy == nullptr || strategy->timeout == nullptr) return std::nullopt;
  return strategy->timeout->timeout;
}

// The settings part of an Actor.
void CopySettings(const Spawn__Actors__ActorSettings *settings, ActorDefinition *actor) {
  if (settings == nullptr) return;
  actor->kind = KindFrom(&settings->kind);
  actor->stateful = settings->stateful;
  actor->snapshot_timeout_ms = TimeoutOf(settings->snapshot_strategy);
  actor->deactivation_timeout_ms = TimeoutOf(settings->deactivation_strategy);
  actor->min_pool_size = settings->min_pool_size;
  actor->max_pool_size = settings->max_pool_size;
  actor->state_type = Text(settings->state_type, "ActorSettings.state_type");
}

// Actions, timer actions and channel subscriptions of an Actor.
void CopyBehaviour(const Spawn__Actors__Actor *wire, ActorDefinition *actor) {
  for (size_t i = 0; i < wire->n_actions; ++i)
    actor->actions.push_back(Text(wire->actions[i]->name, "Action.name"));
  for (size_t i = 0; i < wire->n_timer_actions; ++i) {
    const Spawn__Actors__FixedTimerAction *timer = wire->timer_actions[i];
    if (timer->action == nullptr) throw detail::WireError("timer action without an action");
    actor->timer_actions.push_back({Text(timer->action->name, "FixedTimerAction.action"),
                                    static_cast<int64_t>(timer->seconds)});
  }
  if (const Spawn__Actors__Metadata *metadata = wire->metadata) {
    for (size_t i = 0; i < metadata->n_channel_group; ++i) {
      const Spawn__Actors__Channel *channel = metadata->channel_group[i];
      std::string action = Text(channel->action, "Channel.action");
      actor->channels.push_back(
          {Text(channel->topic, "Channel.topic"), action.empty() ? "receive" : action});
    }
    actor->tags = detail::MapFrom(metadata->tags, metadata->n_tags, "Metadata.tags");
  }
}

// One entry of the registry: the Actor, named by its id or else by its map key.
ActorDefinition ActorFrom(const Spawn__Actors__Registry__ActorsEntry *entry,
                          const ProtobufCAllocator *alloc) {
  const Spawn__Actors__Actor *wire = entry->value;
  if (wire == nullptr) throw detail::WireError("registry entry without an actor");
  ActorDefinition actor;
  actor.id = detail::RefFromActorId(wire->id);
  if (actor.id.name.empty()) actor.id.name = Text(entry->key, "Registry key");
  CopySettings(wire->settings, &actor);
  CopyBehaviour(wire, &actor);
  if (const Spawn__Actors__ActorState *state = wire->state) {
    actor.initial_state = detail::ValueFromAny(state->state, alloc, nullptr);
    actor.state_tags = detail::MapFrom(state->tags, state->n_tags, "ActorState.tags");
  }
  return actor;
}

// A RequestStatus owned by `build`.
Spawn__RequestStatus *StatusMessage(Builder *build, Status status, const std::string &message) {
  auto *request_status = build->New(spawn__request_status__init);
  request_status->status = static_cast<Spawn__Status>(status);
  request_status->message = build->Text(message);
  return request_status;
}

}  // namespace

bool DecodeRegistrationRequest(const uint8_t *data, size_t size, const ProtobufCAllocator *alloc,
                               RegistrationRequest *out, std::string *error) {
  return detail::Guarded(error, [&] {
    auto unpacked = detail::Unpack(&spawn__registration_request__descriptor, alloc, data, size,
                                   "RegistrationRequest");
    const auto *request = reinterpret_cast<Spawn__RegistrationRequest *>(unpacked.get());
    RegistrationRequest result;
    if (const Spawn__ServiceInfo *info = request->service_info) {
      result.service_info = {Text(info->service_name, "ServiceInfo"),
                             Text(info->service_version, "ServiceInfo"),
                             Text(info->service_runtime, "ServiceInfo"),
                             Text(info->support_library_name, "ServiceInfo"),
                             Text(info->support_library_version, "ServiceInfo"),
                             info->protocol_major_version,
                             info->protocol_minor_version};
    }
    if (const Spawn__Actors__ActorSystem *system = request->actor_system) {
      result.system = Text(system->name, "ActorSystem.name");
      if (const Spawn__Actors__Registry *registry = system->registry)
        for (size_t i = 0; i < registry->n_actors; ++i)
          result.actors.push_back(ActorFrom(registry->actors[i], alloc));
    }
    *out = std::move(result);
  });
}

bool DecodeInvocationRequest(const uint8_t *data, size_t size, const ProtobufCAllocator *alloc,
                             InvocationRequest *out, std::string *error) {
  return detail::Guarded(error, [&] {
    auto unpacked = detail::Unpack(&spawn__invocation_request__descriptor, alloc, data, size,
                                   "InvocationRequest");
    const auto *request = reinterpret_cast<Spawn__InvocationRequest *>(unpacked.get());
    InvocationRequest result;
    if (request->system != nullptr) result.system = Text(request->system->name, "system.name");
    if (request->actor != nullptr) result.actor = detail::RefFromActorId(request->actor->id);
    result.action = Text(request->action_name, "action_name");
    if (request->payload_case == SPAWN__INVOCATION_REQUEST__PAYLOAD_VALUE)
      result.payload = detail::ValueFromAny(request->value, alloc, &result.spelling);
    result.async = request->async;
    if (request->caller != nullptr) result.caller = detail::RefFromActorId(request->caller);
    result.metadata = detail::MapFrom(request->metadata, request->n_metadata, "metadata");
    result.scheduled_to = request->scheduled_to;
    result.pooled = request->pooled;
    result.register_ref = Text(request->register_ref, "register_ref");
    *out = std::move(result);
  });
}

bool DecodeSpawnRequest(const uint8_t *data, size_t size, const ProtobufCAllocator *alloc,
                        SpawnRequest *out, std::string *error) {
  return detail::Guarded(error, [&] {
    auto unpacked =
        detail::Unpack(&spawn__spawn_request__descriptor, alloc, data, size, "SpawnRequest");
    const auto *request = reinterpret_cast<Spawn__SpawnRequest *>(unpacked.get());
    SpawnRequest result;
    for (size_t i = 0; i < request->n_actors; ++i)
      result.actors.push_back(detail::RefFromActorId(request->actors[i]));
    *out = std::move(result);
  });
}

bool EncodeRegistrationResponse(Status status, const std::string &message,
                                const std::string &proxy_name, const std::string &proxy_version,
                                Spelling /*spelling*/, std::string *out, std::string *error) {
  return detail::Guarded(error, [&] {
    Builder build;
    auto *info = build.New(spawn__proxy_info__init);
    info->protocol_major_version = 1;
    info->protocol_minor_version = 1;
    info->proxy_name = build.Text(proxy_name);
    info->proxy_version = build.Text(proxy_version);
    auto *response = build.New(spawn__registration_response__init);
    response->status = StatusMessage(&build, status, message);
    response->proxy_info = info;
    detail::Pack(&response->base, out);
  });
}

bool EncodeInvocationResponse(Status status, const std::string &message, const std::string &system,
                              const ActorRef &actor, const Value &reply, Spelling spelling,
                              std::string *out, std::string *error) {
  return detail::Guarded(error, [&] {
    Builder build;
    auto *actor_system = build.New(spawn__actors__actor_system__init);
    actor_system->name = build.Text(system);
    auto *wire_actor = build.New(spawn__actors__actor__init);
    wire_actor->id = build.ActorId(actor);
    auto *response = build.New(spawn__invocation_response__init);
    response->status = StatusMessage(&build, status, message);
    response->system = actor_system;
    response->actor = wire_actor;
    build.Payload(response, reply, spelling, SPAWN__INVOCATION_RESPONSE__PAYLOAD_VALUE,
                  SPAWN__INVOCATION_RESPONSE__PAYLOAD_NOOP);
    detail::Pack(&response->base, out);
  });
}

bool EncodeSpawnResponse(Status status, const std::string &message, std::string *out,
                         std::string *error) {
  return detail::Guarded(error, [&] {
    Builder build;
    auto *response = build.New(spawn__spawn_response__init);
    response->status = StatusMessage(&build, status, message);
    detail::Pack(&response->base, out);
  });
}

}  // namespace spawn::wire
