// Sharding hooks of a spawn installation that is one shard behind a spawn_router (see
// docs/scale-out.md). A server becomes a shard when the spawn_shard extension is installed and
// the router's spawn.sync_shards() has told it which hash partitions it holds; on every other
// server these hooks answer "local" after one cached flag test, and nothing changes.
#pragma once

#include "src/pg.hpp"

namespace spawn {

// The partition hash of (system, actor): the first 32 bits of md5(system || chr(31) || actor),
// big-endian, as a signed integer. The router's spawn.shard_hash computes the same in SQL.
int32 ShardHash(const char *system, const char *actor);

// True when this server is a configured shard and the actor's partition belongs to another one.
bool ShardIsRemote(const char *system, const char *actor);

// Raises 0A000 when the actor lives on another shard: an invocation, pipe or forward runs in one
// transaction on one server and cannot reach it.
void RequireLocalActor(const char *system, const char *actor);

// Queues a message for an actor of another shard in this shard's outbox, in the current
// transaction; this shard's scheduler delivers it once. Returns the outbox message id. Raises
// 0A000 for an asynchronous request (its reply would be stored on the other shard).
int64 RelayToShard(const char *system, const char *actor, const char *action, Jsonb *payload,
                   Jsonb *metadata, const char *register_ref, TimestampTz deliver_at,
                   const char *reply_channel);

// Queues a broadcast for the subscribers of the other shards in the outbox (the caller has
// reached this shard's own). Does nothing on a server that is not a configured shard.
void RelayBroadcastToShards(const char *system, const char *channel, const char *action,
                            Jsonb *payload);

}  // namespace spawn
