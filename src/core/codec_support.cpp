// Shared machinery of the codec: building, packing and checked unpacking of protobuf-c messages,
// and the Any, ActorId and string conversions every message uses (pure C++ zone).
#include "src/core/codec_support.hpp"

#include <nlohmann/json.hpp>

#include "src/core/json_text.hpp"

namespace spawn::wire::detail {

namespace {

constexpr const char kTypePrefix[] = "type.googleapis.com/";
constexpr const char kJsonTypeV1[] = "eigr.functions.protocol.JSONType";
constexpr const char kJsonTypeV2[] = "spawn.JSONType";

}  // namespace

char *Builder::Text(const std::string &text) {
  texts_.push_back(text);
  return texts_.back().data();
}

Google__Protobuf__Any *Builder::Any(const Value &value, Spelling spelling) {
  if (value.kind == Value::Kind::kNone) return nullptr;
  auto *any = New(google__protobuf__any__init);
  std::string *bytes;
  if (value.kind == Value::Kind::kJson) {
    any->type_url =
        Text(std::string(kTypePrefix) + (spelling == Spelling::kV1 ? kJsonTypeV1 : kJsonTypeV2));
    auto *json = New(spawn__jsontype__init);
    json->content = Text(value.json);
    texts_.emplace_back();
    bytes = &texts_.back();
    Pack(&json->base, bytes);
  } else {
    any->type_url = Text(value.type_url);
    texts_.push_back(value.bytes);
    bytes = &texts_.back();
  }
  any->value.len = bytes->size();
  any->value.data = reinterpret_cast<uint8_t *>(bytes->data());
  return any;
}

Spawn__Actors__ActorId *Builder::ActorId(const ActorRef &ref) {
  auto *id = New(spawn__actors__actor_id__init);
  id->name = Text(ref.name);
  id->system = Text(ref.system);
  id->parent = Text(ref.parent);
  return id;
}

void Pack(const ProtobufCMessage *message, std::string *out) {
  out->assign(protobuf_c_message_get_packed_size(message), '\0');
  protobuf_c_message_pack(message, reinterpret_cast<uint8_t *>(out->data()));
}

void UnpackedDeleter::operator()(ProtobufCMessage *message) const {
  protobuf_c_message_free_unpacked(message, const_cast<ProtobufCAllocator *>(alloc));
}

Unpacked Unpack(const ProtobufCMessageDescriptor *descriptor, const ProtobufCAllocator *alloc,
                const uint8_t *data, size_t size, const char *what) {
  if (size == 0 || data == nullptr) throw WireError(std::string("empty ") + what);
  ProtobufCMessage *message =
      protobuf_c_message_unpack(descriptor, const_cast<ProtobufCAllocator *>(alloc), size, data);
  if (message == nullptr) throw WireError(std::string("undecodable ") + what);
  return Unpacked(message, UnpackedDeleter{alloc});
}

std::string Text(const char *text, const char *field) {
  if (text == nullptr) return std::string();
  std::string copy(text);
  if (!IsUtf8(copy)) throw WireError(std::string(field) + " is not valid UTF-8");
  return copy;
}

Value ValueFromAny(const Google__Protobuf__Any *any, const ProtobufCAllocator *alloc,
                   Spelling *spelling) {
  Value value;
  if (any == nullptr) return value;
  const std::string type_url = Text(any->type_url, "type_url");
  if (type_url.empty()) {
    if (any->value.len != 0) throw WireError("Any has a value but no type_url");
    return value;
  }
  const auto slash = type_url.rfind('/');
  const std::string type = slash == std::string::npos ? type_url : type_url.substr(slash + 1);
  if (type == kJsonTypeV1 || type == kJsonTypeV2) {
    if (spelling != nullptr) *spelling = type == kJsonTypeV1 ? Spelling::kV1 : Spelling::kV2;
    auto json_type =
        Unpack(&spawn__jsontype__descriptor, alloc, any->value.data, any->value.len, "JSONType");
    // An empty JSONType packs to no bytes, which Unpack refuses: "" is no JSON anyway.
    value.json = Text(reinterpret_cast<Spawn__JSONType *>(json_type.get())->content, "JSONType");
    if (!nlohmann::json::accept(value.json)) throw WireError("JSONType content is not JSON");
    value.kind = Value::Kind::kJson;
    return value;
  }
  value.kind = Value::Kind::kTyped;
  value.type_url = type_url;
  value.bytes.assign(reinterpret_cast<const char *>(any->value.data), any->value.len);
  return value;
}

ActorRef RefFromActorId(const Spawn__Actors__ActorId *id) {
  ActorRef ref;
  if (id == nullptr) return ref;
  ref.name = Text(id->name, "ActorId.name");
  ref.system = Text(id->system, "ActorId.system");
  ref.parent = Text(id->parent, "ActorId.parent");
  return ref;
}

}  // namespace spawn::wire::detail
