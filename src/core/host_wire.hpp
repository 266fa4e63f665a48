// The C++-zone side of a call to an external actor host: turns plain C data from the invoke
// path into an ActorInvocation and an ActorInvocationResponse back into JSON texts, with the
// protobuf codec (codec.hpp). Nothing here throws or calls PostgreSQL; strings it returns are
// malloc'd and freed with HostAnswerFree.
#pragma once

#include <cstddef>
#include <cstdint>

struct ProtobufCAllocator;

namespace spawn {

// One invocation, as the invoke path has it; NULL marks an absent part.
struct HostRequest {
  const char *system;
  const char *actor;
  const char *parent;  // the template of an unnamed instance, else NULL
  const char *action;
  const char *state_json;
  const char *payload_json;
  const char *caller_actor;  // the actor whose handler made the call (same system)
  const char *metadata_json;
  bool v2_spelling;
};

// What the host answered; NULL marks an absent part.
struct HostAnswer {
  char *actor_name;
  char *actor_system;
  char *state_json;     // the state the host returned (its typed form for protobuf states)
  char *reply_json;     // the reply payload
  char *workflow_json;  // spawn's workflow object built from the host's Workflow
  bool checkpoint;      // the host asked for a snapshot
};

// Encodes the ActorInvocation into a malloc'd buffer; false with `error` on failure.
bool EncodeHostRequest(const HostRequest *request, unsigned char **out, size_t *size, char *error,
                       size_t error_size) noexcept;

// Decodes an ActorInvocationResponse; false with `error` for an empty or undecodable body.
bool DecodeHostAnswer(const unsigned char *data, size_t size, const ProtobufCAllocator *allocator,
                      int64_t now_ms, HostAnswer *answer, char *error, size_t error_size) noexcept;

// Frees the strings of an answer.
void HostAnswerFree(HostAnswer *answer) noexcept;

}  // namespace spawn
