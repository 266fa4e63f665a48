// Unit tests of the gateway half of the codec: RegistrationRequest, InvocationRequest and
// SpawnRequest decoded, the three responses encoded.
#include <gtest/gtest.h>

#include "src/core/codec.hpp"
#include "src/core/codec_support.hpp"

namespace spawn::wire {
namespace {

using detail::Builder;

// Packs a message built with a Builder.
std::string Packed(const ProtobufCMessage *message) {
  std::string out;
  detail::Pack(message, &out);
  return out;
}

// The bytes as the decoders take them.
const uint8_t *Bytes(const std::string &bytes) {
  return reinterpret_cast<const uint8_t *>(bytes.data());
}

// A registration like the Node SDK's: one actor with settings, actions, a timer and channels.
std::string NodeLikeRegistration() {
  Builder build;
  auto *info = build.New(spawn__service_info__init);
  info->service_name = build.Text("nodejs_sdk");
  info->protocol_major_version = 1;
  info->protocol_minor_version = 1;
  auto *timeout = build.New(spawn__actors__timeout_strategy__init);
  timeout->timeout = 5000;
  auto *snapshot = build.New(spawn__actors__actor_snapshot_strategy__init);
  snapshot->strategy_case = SPAWN__ACTORS__ACTOR_SNAPSHOT_STRATEGY__STRATEGY_TIMEOUT;
  snapshot->timeout = timeout;
  auto *settings = build.New(spawn__actors__actor_settings__init);
  settings->kind = SPAWN__ACTORS__KIND__UNNAMED;
  settings->stateful = true;
  settings->snapshot_strategy = snapshot;
  settings->max_pool_size = 4;
  settings->state_type = build.Text("json");
  auto **actions = build.Array<Spawn__Actors__Action>(1);
  actions[0] = build.New(spawn__actors__action__init);
  actions[0]->name = build.Text("add");
  auto *tick = build.New(spawn__actors__action__init);
  tick->name = build.Text("tick");
  auto **timers = build.Array<Spawn__Actors__FixedTimerAction>(1);
  timers[0] = build.New(spawn__actors__fixed_timer_action__init);
  timers[0]->seconds = 1500;
  timers[0]->action = tick;
  auto **channels = build.Array<Spawn__Actors__Channel>(2);
  channels[0] = build.New(spawn__actors__channel__init);
  channels[0]->topic = build.Text("news");
  channels[1] = build.New(spawn__actors__channel__init);
  channels[1]->topic = build.Text("sport");
  channels[1]->action = build.Text("score");
  auto *metadata = build.New(spawn__actors__metadata__init);
  metadata->n_channel_group = 2;
  metadata->channel_group = channels;
  metadata->tags = build.Map(StringMap{{"team", "a"}}, spawn__actors__metadata__tags_entry__init,
                             &metadata->n_tags);
  auto *actor = build.New(spawn__actors__actor__init);
  actor->settings = settings;
  actor->n_actions = 1;
  actor->actions = actions;
  actor->n_timer_actions = 1;
  actor->timer_actions = timers;
  actor->metadata = metadata;
  auto **entries = build.Array<Spawn__Actors__Registry__ActorsEntry>(1);
  entries[0] = build.New(spawn__actors__registry__actors_entry__init);
  entries[0]->key = build.Text("counter");
  entries[0]->value = actor;
  auto *registry = build.New(spawn__actors__registry__init);
  registry->n_actors = 1;
  registry->actors = entries;
  auto *system = build.New(spawn__actors__actor_system__init);
  system->name = build.Text("sys");
  system->registry = registry;
  auto *request = build.New(spawn__registration_request__init);
  request->service_info = info;
  request->actor_system = system;
  return Packed(&request->base);
}

TEST(CodecGateway, RegistrationRequestDecodesEveryActorField) {
  const std::string bytes = NodeLikeRegistration();
  RegistrationRequest request;
  std::string error;
  ASSERT_TRUE(DecodeRegistrationRequest(Bytes(bytes), bytes.size(), nullptr, &request, &error))
      << error;
  EXPECT_EQ(request.service_info.service_name, "nodejs_sdk");
  EXPECT_EQ(request.service_info.protocol_minor_version, 1);
  EXPECT_EQ(request.system, "sys");
  ASSERT_EQ(request.actors.size(), 1u);
  const ActorDefinition &actor = request.actors[0];
  EXPECT_EQ(actor.id.name, "counter");  // from the map key
  EXPECT_EQ(actor.kind, ActorKind::kUnnamed);
  EXPECT_TRUE(actor.stateful);
  EXPECT_EQ(actor.snapshot_timeout_ms, 5000);
  EXPECT_FALSE(actor.deactivation_timeout_ms.has_value());
  EXPECT_EQ(actor.max_pool_size, 4);
  EXPECT_EQ(actor.state_type, "json");
  EXPECT_EQ(actor.actions, std::vector<std::string>{"add"});
  ASSERT_EQ(actor.timer_actions.size(), 1u);
  EXPECT_EQ(actor.timer_actions[0].action, "tick");
  EXPECT_EQ(actor.timer_actions[0].every_ms, 1500);
  ASSERT_EQ(actor.channels.size(), 2u);
  EXPECT_EQ(actor.channels[0].action, "receive");
  EXPECT_EQ(actor.channels[1].action, "score");
  EXPECT_EQ(actor.tags, (StringMap{{"team", "a"}}));
}

// Found by the registration fuzzer: protobuf-c keeps a kind number past the enum's values.
TEST(CodecGateway, UnknownKindNumberIsKindUnknown) {
  // RegistrationRequest{actor_system{registry{actors{"a": Actor{settings{kind: 99}}}}}}
  const std::string bytes(
      "\x12\x0d\x12\x0b\x0a\x09\x0a\x01"
      "a"
      "\x12\x04\x1a\x02\x08\x63",
      15);
  RegistrationRequest request;
  std::string error;
  ASSERT_TRUE(DecodeRegistrationRequest(Bytes(bytes), bytes.size(), nullptr, &request, &error))
      << error;
  ASSERT_EQ(request.actors.size(), 1u);
  EXPECT_EQ(request.actors[0].id.name, "a");
  EXPECT_EQ(request.actors[0].kind, ActorKind::kUnknown);
}

TEST(CodecGateway, InvocationRequestDecodes) {
  for (const Spelling spelling : {Spelling::kV1, Spelling::kV2}) {
    Builder build;
    auto *system = build.New(spawn__actors__actor_system__init);
    system->name = build.Text("sys");
    auto *actor = build.New(spawn__actors__actor__init);
    actor->id = build.ActorId({"sys", "c-1", "counter"});
    auto *request = build.New(spawn__invocation_request__init);
    request->system = system;
    request->actor = actor;
    request->action_name = build.Text("add");
    build.Payload(request, Value{Value::Kind::kJson, "{\"value\": 2}", "", ""}, spelling,
                  SPAWN__INVOCATION_REQUEST__PAYLOAD_VALUE,
                  SPAWN__INVOCATION_REQUEST__PAYLOAD_NOOP);
    request->async = true;
    request->caller = build.ActorId({"sys", "me", ""});
    request->metadata =
        build.Map(StringMap{{"m", "1"}}, spawn__invocation_request__metadata_entry__init,
                  &request->n_metadata);
    request->scheduled_to = 1700000000000;
    request->pooled = true;
    request->register_ref = build.Text("counter");
    const std::string bytes = Packed(&request->base);
    InvocationRequest decoded;
    std::string error;
    ASSERT_TRUE(DecodeInvocationRequest(Bytes(bytes), bytes.size(), nullptr, &decoded, &error));
    EXPECT_EQ(decoded.system, "sys");
    EXPECT_EQ(decoded.actor.name, "c-1");
    EXPECT_EQ(decoded.actor.parent, "counter");
    EXPECT_EQ(decoded.action, "add");
    EXPECT_EQ(decoded.payload.json, "{\"value\": 2}");
    EXPECT_TRUE(decoded.async);
    ASSERT_TRUE(decoded.caller.has_value());
    EXPECT_EQ(decoded.caller->name, "me");
    EXPECT_EQ(decoded.metadata, (StringMap{{"m", "1"}}));
    EXPECT_EQ(decoded.scheduled_to, 1700000000000);
    EXPECT_TRUE(decoded.pooled);
    EXPECT_EQ(decoded.register_ref, "counter");
    EXPECT_EQ(decoded.spelling, spelling);
  }
}

TEST(CodecGateway, SpawnRequestDecodes) {
  Builder build;
  auto **ids = build.Array<Spawn__Actors__ActorId>(2);
  ids[0] = build.ActorId({"sys", "a", "counter"});
  ids[1] = build.ActorId({"sys", "b", "counter"});
  auto *request = build.New(spawn__spawn_request__init);
  request->n_actors = 2;
  request->actors = ids;
  const std::string bytes = Packed(&request->base);
  SpawnRequest decoded;
  std::string error;
  ASSERT_TRUE(DecodeSpawnRequest(Bytes(bytes), bytes.size(), nullptr, &decoded, &error));
  ASSERT_EQ(decoded.actors.size(), 2u);
  EXPECT_EQ(decoded.actors[1].name, "b");
  EXPECT_EQ(decoded.actors[1].parent, "counter");
}

TEST(CodecGateway, BadRequestsAreErrors) {
  std::string error;
  RegistrationRequest registration;
  InvocationRequest invocation;
  SpawnRequest spawn;
  for (const std::string &bad :
       {std::string(), std::string("\x0a\x05\x01", 3), std::string("\x0a\x02\x0a\xff", 4)}) {
    EXPECT_FALSE(DecodeRegistrationRequest(Bytes(bad), bad.size(), nullptr, &registration, &error));
    EXPECT_FALSE(DecodeInvocationRequest(Bytes(bad), bad.size(), nullptr, &invocation, &error));
    EXPECT_FALSE(DecodeSpawnRequest(Bytes(bad), bad.size(), nullptr, &spawn, &error));
  }
  // A spawn request whose actor name is not UTF-8.
  const std::string bad_name("\x0a\x03\x0a\x01\xff", 5);
  EXPECT_FALSE(DecodeSpawnRequest(Bytes(bad_name), bad_name.size(), nullptr, &spawn, &error));
  EXPECT_EQ(error, "ActorId.name is not valid UTF-8");
}

TEST(CodecGateway, ResponsesEncode) {
  std::string bytes, error;
  ASSERT_TRUE(
      EncodeRegistrationResponse(Status::kOk, "ok", "spawn", "1.0", Spelling::kV1, &bytes, &error));
  auto registration = detail::Unpack(&spawn__registration_response__descriptor, nullptr,
                                     Bytes(bytes), bytes.size(), "test");
  const auto *reg = reinterpret_cast<Spawn__RegistrationResponse *>(registration.get());
  EXPECT_EQ(reg->status->status, SPAWN__STATUS__OK);
  EXPECT_STREQ(reg->proxy_info->proxy_name, "spawn");
  EXPECT_EQ(reg->proxy_info->protocol_major_version, 1);

  ASSERT_TRUE(EncodeInvocationResponse(Status::kError, "no such actor", "sys", {"sys", "x", ""},
                                       Value{Value::Kind::kJson, "{\"total\": 2}", "", ""},
                                       Spelling::kV2, &bytes, &error));
  auto invocation = detail::Unpack(&spawn__invocation_response__descriptor, nullptr, Bytes(bytes),
                                   bytes.size(), "test");
  const auto *inv = reinterpret_cast<Spawn__InvocationResponse *>(invocation.get());
  EXPECT_EQ(inv->status->status, SPAWN__STATUS__ERROR);
  EXPECT_STREQ(inv->status->message, "no such actor");
  EXPECT_STREQ(inv->system->name, "sys");
  EXPECT_STREQ(inv->actor->id->name, "x");
  ASSERT_EQ(inv->payload_case, SPAWN__INVOCATION_RESPONSE__PAYLOAD_VALUE);
  EXPECT_STREQ(inv->value->type_url, "type.googleapis.com/spawn.JSONType");
  EXPECT_EQ(detail::ValueFromAny(inv->value, nullptr, nullptr).json, "{\"total\": 2}");

  ASSERT_TRUE(EncodeSpawnResponse(Status::kActorNotFound, "gone", &bytes, &error));
  auto spawned = detail::Unpack(&spawn__spawn_response__descriptor, nullptr, Bytes(bytes),
                                bytes.size(), "test");
  EXPECT_EQ(reinterpret_cast<Spawn__SpawnResponse *>(spawned.get())->status->status,
            SPAWN__STATUS__ACTOR_NOT_FOUND);
}

}  // namespace
}  // namespace spawn::wire
