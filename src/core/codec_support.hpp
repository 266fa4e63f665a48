// Shared machinery of the codec's .cpp files (not part of the public API): the exception-to-bool
// door, an owner of the protobuf-c structs an encoder builds, checked unpacking, and the
// conversions of Any, ActorId and string maps.
#pragma once

#include <deque>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "google/protobuf/any.pb-c.h"
#include "spawn_actors.pb-c.h"
#include "spawn_protocol.pb-c.h"
#include "src/core/codec.hpp"

namespace spawn::wire::detail {

// A malformed message or value; the door turns it into the error text.
class WireError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Runs `body`, turning any exception into false plus its text.
template <typename Body>
bool Guarded(std::string *error, Body &&body) {
  try {
    body();
    return true;
  } catch (const std::exception &e) {
    *error = e.what();
  } catch (...) {
    *error = "unexpected failure in the wire codec";
  }
  return false;
}

// Owns what an encoder points protobuf-c structs at, until the message is packed.
class Builder {
 public:
  // A new message of type T, initialised by protobuf-c's init function.
  template <typename T>
  T *New(void (*init)(T *)) {
    auto message = std::make_shared<T>();
    init(message.get());
    owned_.push_back(message);
    return message.get();
  }
  // A NUL-terminated copy that lives as long as the builder.
  char *Text(const std::string &text);
  // An array of `n` null pointers to T.
  template <typename T>
  T **Array(size_t n) {
    auto array = std::make_shared<std::vector<T *>>(n, nullptr);
    owned_.push_back(array);
    return array->data();
  }
  // The Any of a value (JSONType in the given spelling, or the typed bytes); nullptr for kNone.
  Google__Protobuf__Any *Any(const Value &value, Spelling spelling);
  Spawn__Actors__ActorId *ActorId(const ActorRef &ref);
  // Fills a message's payload oneof: the value's Any, or Noop when it has none.
  template <typename Message, typename Case>
  void Payload(Message *message, const Value &value, Spelling spelling, Case value_case,
               Case noop_case) {
    if (auto *payload = Any(value, spelling)) {
      message->payload_case = value_case;
      message->value = payload;
    } else {
      message->payload_case = noop_case;
      message->noop = New(spawn__noop__init);
    }
  }
  // Map entries (key/value string messages) of a string map.
  template <typename Entry>
  Entry **Map(const StringMap &map, void (*init)(Entry *), size_t *count) {
    Entry **entries = Array<Entry>(map.size());
    size_t i = 0;
    for (const auto &[key, value] : map) {
      Entry *entry = New(init);
      entry->key = Text(key);
      entry->value = Text(value);
      entries[i++] = entry;
    }
    *count = map.size();
    return entries;
  }

 private:
  std::vector<std::shared_ptr<void>> owned_;
  std::deque<std::string> texts_;
};

// Packs a message into `out`.
void Pack(const ProtobufCMessage *message, std::string *out);

// Frees an unpacked message with the allocator it was unpacked with.
struct UnpackedDeleter {
  const ProtobufCAllocator *alloc;
  void operator()(ProtobufCMessage *message) const;
};
using Unpacked = std::unique_ptr<ProtobufCMessage, UnpackedDeleter>;

// Unpacks `what` from the bytes; throws when they are empty or do not decode.
Unpacked Unpack(const ProtobufCMessageDescriptor *descriptor, const ProtobufCAllocator *alloc,
                const uint8_t *data, size_t size, const char *what);

// A protobuf string copied out; throws when it is not UTF-8.
std::string Text(const char *text, const char *field);

// The value an Any holds (nullptr: kNone); `spelling` is set when it was JSONType.
Value ValueFromAny(const Google__Protobuf__Any *any, const ProtobufCAllocator *alloc,
                   Spelling *spelling);

// An ActorId copied out (an absent one is all empty).
ActorRef RefFromActorId(const Spawn__Actors__ActorId *id);

// Map entries (messages with key and value strings) copied into a StringMap.
template <typename Entry>
StringMap MapFrom(Entry *const *entries, size_t count, const char *field) {
  StringMap map;
  for (size_t i = 0; i < count; ++i)
    map[Text(entries[i]->key, field)] = Text(entries[i]->value, field);
  return map;
}

}  // namespace spawn::wire::detail
