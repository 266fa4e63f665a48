// Unit tests of the invocation half of the codec: the ActorInvocation spawn sends and the
// ActorInvocationResponse a host answers, with its workflow converted to spawn's JSON object.
#include <gtest/gtest.h>

#include "src/core/codec.hpp"
#include "src/core/codec_support.hpp"

namespace spawn::wire {
namespace {

using detail::Builder;

const Value kJsonValue{Value::Kind::kJson, R"({"value": 1})", "", ""};
const Value kTypedValue{Value::Kind::kTyped, "", "type.googleapis.com/test.Counter",
                        std::string("\x08\x00\x2a", 3)};

// Unpacks an encoded ActorInvocation with protobuf-c itself.
detail::Unpacked UnpackInvocation(const std::string &bytes) {
  return detail::Unpack(&spawn__actor_invocation__descriptor, nullptr,
                        reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size(), "test");
}

// Packs a message built with a Builder.
std::string Packed(const ProtobufCMessage *message) {
  std::string out;
  detail::Pack(message, &out);
  return out;
}

// Decodes a response, expecting success.
InvocationResult Decode(const std::string &bytes, int64_t now_ms = 0) {
  InvocationResult result;
  std::string error;
  EXPECT_TRUE(DecodeActorInvocationResponse(reinterpret_cast<const uint8_t *>(bytes.data()),
                                            bytes.size(), nullptr, now_ms, &result, &error))
      << error;
  return result;
}

// Decodes a response, expecting an error; returns its text.
std::string DecodeError(const std::string &bytes) {
  InvocationResult result;
  std::string error;
  EXPECT_FALSE(DecodeActorInvocationResponse(reinterpret_cast<const uint8_t *>(bytes.data()),
                                             bytes.size(), nullptr, 0, &result, &error));
  EXPECT_FALSE(error.empty());
  return error;
}

TEST(Codec, ActorInvocationCarriesEveryField) {
  for (const Spelling spelling : {Spelling::kV1, Spelling::kV2}) {
    Invocation invocation{
        {"sys", "c-1", "counter"}, "add",        kJsonValue, {{"tag", "t"}}, kTypedValue,
        {{"sys", "caller", ""}},   {{"m", "v"}}, spelling};
    std::string bytes, error;
    ASSERT_TRUE(EncodeActorInvocation(invocation, &bytes, &error)) << error;
    auto unpacked = UnpackInvocation(bytes);
    const auto *message = reinterpret_cast<Spawn__ActorInvocation *>(unpacked.get());
    EXPECT_STREQ(message->actor->name, "c-1");
    EXPECT_STREQ(message->actor->system, "sys");
    EXPECT_STREQ(message->actor->parent, "counter");
    EXPECT_STREQ(message->action_name, "add");
    EXPECT_STREQ(message->caller->name, "caller");
    const Spawn__Context *context = message->current_context;
    EXPECT_STREQ(context->self->name, "c-1");
    EXPECT_STREQ(context->caller->name, "caller");
    EXPECT_STREQ(context->state->type_url,
                 spelling == Spelling::kV1 ? "type.googleapis.com/eigr.functions.protocol.JSONType"
                                           : "type.googleapis.com/spawn.JSONType");
    Spelling seen = Spelling::kV1;
    const Value state = detail::ValueFromAny(context->state, nullptr, &seen);
    EXPECT_EQ(state.json, kJsonValue.json);
    EXPECT_EQ(seen, spelling);
    ASSERT_EQ(context->n_tags, 1u);
    EXPECT_STREQ(context->tags[0]->key, "tag");
    ASSERT_EQ(context->n_metadata, 1u);
    EXPECT_STREQ(context->metadata[0]->value, "v");
    ASSERT_EQ(message->payload_case, SPAWN__ACTOR_INVOCATION__PAYLOAD_VALUE);
    const Value payload = detail::ValueFromAny(message->value, nullptr, nullptr);
    EXPECT_EQ(payload.kind, Value::Kind::kTyped);
    EXPECT_EQ(payload.type_url, kTypedValue.type_url);
    EXPECT_EQ(payload.bytes, kTypedValue.bytes);
  }
}

TEST(Codec, ActorInvocationWithoutPayloadSendsNoop) {
  Invocation invocation;
  invocation.actor = {"sys", "a", ""};
  invocation.action = "get";
  std::string bytes, error;
  ASSERT_TRUE(EncodeActorInvocation(invocation, &bytes, &error));
  auto unpacked = UnpackInvocation(bytes);
  const auto *message = reinterpret_cast<Spawn__ActorInvocation *>(unpacked.get());
  EXPECT_EQ(message->payload_case, SPAWN__ACTOR_INVOCATION__PAYLOAD_NOOP);
  EXPECT_EQ(message->caller, nullptr);
  EXPECT_EQ(message->current_context->state, nullptr);
}

// A response with state, tags and a reply, in the given spelling.
std::string Response(Spelling spelling, const Value &state, const Value &reply) {
  Builder build;
  auto *context = build.New(spawn__context__init);
  context->state = build.Any(state, spelling);
  context->tags =
      build.Map(StringMap{{"k", "v"}}, spawn__context__tags_entry__init, &context->n_tags);
  auto *response = build.New(spawn__actor_invocation_response__init);
  response->actor_name = build.Text("c-1");
  response->actor_system = build.Text("sys");
  response->updated_context = context;
  response->checkpoint = true;
  build.Payload(response, reply, spelling, SPAWN__ACTOR_INVOCATION_RESPONSE__PAYLOAD_VALUE,
                SPAWN__ACTOR_INVOCATION_RESPONSE__PAYLOAD_NOOP);
  return Packed(&response->base);
}

TEST(Codec, ResponseRoundTripsInBothSpellings) {
  for (const Spelling spelling : {Spelling::kV1, Spelling::kV2}) {
    const InvocationResult result = Decode(Response(spelling, kJsonValue, kJsonValue));
    EXPECT_EQ(result.actor_name, "c-1");
    EXPECT_EQ(result.actor_system, "sys");
    EXPECT_TRUE(result.has_state);
    EXPECT_EQ(result.state.json, kJsonValue.json);
    EXPECT_EQ(result.state_tags, (StringMap{{"k", "v"}}));
    EXPECT_EQ(result.reply.kind, Value::Kind::kJson);
    EXPECT_EQ(result.reply.json, kJsonValue.json);
    EXPECT_TRUE(result.checkpoint);
    EXPECT_EQ(result.workflow_json, "");
  }
}

TEST(Codec, ResponseKeepsTypedStateOpaqueAndNoopReplyEmpty) {
  const InvocationResult result = Decode(Response(Spelling::kV1, kTypedValue, Value{}));
  EXPECT_EQ(result.state.kind, Value::Kind::kTyped);
  EXPECT_EQ(result.state.type_url, kTypedValue.type_url);
  EXPECT_EQ(result.state.bytes, kTypedValue.bytes);
  EXPECT_EQ(result.reply.kind, Value::Kind::kNone);
}

TEST(Codec, JsonNumbersAreNeverRoundedAndAnyPrefixIsAccepted) {
  Builder build;
  auto *json = build.New(spawn__jsontype__init);
  json->content = build.Text(R"({"big": 123456789012345678901234567890.5})");
  auto *any = build.New(google__protobuf__any__init);
  any->type_url = build.Text("example.com/x/spawn.JSONType");
  std::string content = Packed(&json->base);
  any->value.data = reinterpret_cast<uint8_t *>(content.data());
  any->value.len = content.size();
  auto *response = build.New(spawn__actor_invocation_response__init);
  response->payload_case = SPAWN__ACTOR_INVOCATION_RESPONSE__PAYLOAD_VALUE;
  response->value = any;
  EXPECT_EQ(Decode(Packed(&response->base)).reply.json, json->content);
}

TEST(Codec, WorkflowBecomesSpawnsJsonObject) {
  Builder build;
  auto *target = build.New(spawn__actors__actor__init);
  target->id = build.ActorId({"other-sys", "shipping", ""});
  auto *system = build.New(spawn__actors__actor_system__init);
  system->name = build.Text("sys");
  auto *request = build.New(spawn__invocation_request__init);
  request->system = system;
  request->actor = target;
  request->action_name = build.Text("ship");
  request->scheduled_to = 1500;
  request->register_ref = build.Text("shipper");
  request->metadata =
      build.Map(StringMap{{"why", "a\"b"}}, spawn__invocation_request__metadata_entry__init,
                &request->n_metadata);
  build.Payload(request, kJsonValue, Spelling::kV1, SPAWN__INVOCATION_REQUEST__PAYLOAD_VALUE,
                SPAWN__INVOCATION_REQUEST__PAYLOAD_NOOP);
  auto *late = build.New(spawn__invocation_request__init);
  late->actor = target;
  late->action_name = build.Text("late");
  late->scheduled_to = 10;  // in the past: no delay
  auto **effects = build.Array<Spawn__SideEffect>(2);
  effects[0] = build.New(spawn__side_effect__init);
  effects[0]->request = request;
  effects[1] = build.New(spawn__side_effect__init);
  effects[1]->request = late;
  auto *broadcast = build.New(spawn__broadcast__init);
  broadcast->channel_group = build.Text("news");
  build.Payload(broadcast, kTypedValue, Spelling::kV1, SPAWN__BROADCAST__PAYLOAD_VALUE,
                SPAWN__BROADCAST__PAYLOAD_NOOP);
  auto *pipe = build.New(spawn__pipe__init);
  pipe->actor = build.Text("summer");
  pipe->action_name = build.Text("sum");
  auto *workflow = build.New(spawn__workflow__init);
  workflow->n_effects = 2;
  workflow->effects = effects;
  workflow->broadcast = broadcast;
  workflow->routing_case = SPAWN__WORKFLOW__ROUTING_PIPE;
  workflow->pipe = pipe;
  auto *response = build.New(spawn__actor_invocation_response__init);
  response->workflow = workflow;
  EXPECT_EQ(
      Decode(Packed(&response->base), 1000).workflow_json,
      R"({"effects": [{"actor": "shipping", "action": "ship", "payload": {"value": 1}, )"
      R"("delay_ms": 500, "system": "sys", "register_ref": "shipper", )"
      R"("metadata": {"why": "a\"b"}}, {"actor": "shipping", "action": "late", )"
      R"("delay_ms": 0, "system": "other-sys"}], "broadcast": {"channel": "news", "payload": )"
      R"({"@type": "type.googleapis.com/test.Counter", "value": "CAAq"}}, )"
      R"("pipe": {"actor": "summer", "action": "sum"}})");

  auto *forward = build.New(spawn__forward__init);
  forward->actor = build.Text("a");
  forward->action_name = build.Text("b");
  forward->register_ref = build.Text("p");
  auto *routed = build.New(spawn__workflow__init);
  routed->routing_case = SPAWN__WORKFLOW__ROUTING_FORWARD;
  routed->forward = forward;
  response->workflow = routed;
  EXPECT_EQ(Decode(Packed(&response->base)).workflow_json,
            R"({"effects": [], "forward": {"actor": "a", "action": "b", "register_ref": "p"}})");
  response->workflow = build.New(spawn__workflow__init);
  EXPECT_EQ(Decode(Packed(&response->base)).workflow_json, "");
}

TEST(Codec, DelayNeverOverflows) {
  Builder build;
  auto *target = build.New(spawn__actors__actor__init);
  target->id = build.ActorId({"", "x", ""});
  auto *request = build.New(spawn__invocation_request__init);
  request->actor = target;
  request->scheduled_to = INT64_MAX;
  auto **effects = build.Array<Spawn__SideEffect>(1);
  effects[0] = build.New(spawn__side_effect__init);
  effects[0]->request = request;
  auto *workflow = build.New(spawn__workflow__init);
  workflow->n_effects = 1;
  workflow->effects = effects;
  auto *response = build.New(spawn__actor_invocation_response__init);
  response->workflow = workflow;
  EXPECT_NE(Decode(Packed(&response->base), INT64_MIN).workflow_json.find("9223372036854775807"),
            std::string::npos);
}

TEST(Codec, BadResponsesAreErrors) {
  EXPECT_EQ(DecodeError(""), "empty ActorInvocationResponse");
  DecodeError("\xff\xff\xff\xff");
  const std::string good = Response(Spelling::kV1, kJsonValue, kJsonValue);
  for (size_t cut = 1; cut < good.size(); ++cut) {
    InvocationResult result;
    std::string error;
    // A prefix may happen to be a valid shorter message; it must never crash or throw.
    DecodeActorInvocationResponse(reinterpret_cast<const uint8_t *>(good.data()), cut, nullptr, 0,
                                  &result, &error);
  }
  EXPECT_FALSE(DecodeError(good.substr(0, good.size() - 1)).empty());
  // Field 1 (actor_name) as a varint: the wrong wire type.
  DecodeError(std::string("\x08\x01", 2));
  EXPECT_EQ(
      DecodeError(Response(Spelling::kV1, Value{Value::Kind::kJson, "{nope", "", ""}, Value{})),
      "JSONType content is not JSON");
  Builder build;
  auto *response = build.New(spawn__actor_invocation_response__init);
  response->actor_name = build.Text("bad\xff");
  EXPECT_EQ(DecodeError(Packed(&response->base)), "actor_name is not valid UTF-8");
}

// Counts what the allocator hands out, to check that decoding frees all of it.
struct CountingAllocator {
  int live = 0;
  int used = 0;
  ProtobufCAllocator allocator{Alloc, Free, this};
  static void *Alloc(void *data, size_t size) {
    auto *self = static_cast<CountingAllocator *>(data);
    ++self->live;
    ++self->used;
    return malloc(size);
  }
  static void Free(void *data, void *pointer) {
    if (pointer == nullptr) return;
    --static_cast<CountingAllocator *>(data)->live;
    free(pointer);
  }
};

TEST(Codec, DecodingUsesAndReleasesTheGivenAllocator) {
  CountingAllocator counting;
  const std::string bytes = Response(Spelling::kV2, kJsonValue, kJsonValue);
  InvocationResult result;
  std::string error;
  ASSERT_TRUE(DecodeActorInvocationResponse(reinterpret_cast<const uint8_t *>(bytes.data()),
                                            bytes.size(), &counting.allocator, 0, &result, &error));
  EXPECT_GT(counting.used, 0);
  EXPECT_EQ(counting.live, 0);
}

TEST(Codec, AllocatorFailureIsAnError) {
  ProtobufCAllocator failing{[](void *, size_t) -> void * { return nullptr; },
                             [](void *, void *) {}, nullptr};
  const std::string bytes = Response(Spelling::kV1, kJsonValue, kJsonValue);
  InvocationResult result;
  std::string error;
  EXPECT_FALSE(DecodeActorInvocationResponse(reinterpret_cast<const uint8_t *>(bytes.data()),
                                             bytes.size(), &failing, 0, &result, &error));
  EXPECT_EQ(error, "undecodable ActorInvocationResponse");
}

}  // namespace
}  // namespace spawn::wire
