// Which actors live here, on a shard. The map is PL/Proxy's cluster definition on the router;
// spawn.sync_shards() there writes each shard's own partitions into spawn._shard_identity (a
// table of the spawn_shard extension). This file caches that row per backend: the cache is
// dropped by any relcache invalidation (spawn_shard's configure function sends one through
// spawn._catalog_changed), and on a server without the table the answer is "not a shard" after
// one flag test, so single-server users pay nothing.
#include "src/shard_route.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/md5.h"
#include "executor/spi.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
}

namespace spawn {

namespace {

// PL/Proxy's partition count is a power of two; routed ids keep 10 bits for the partition.
constexpr int kMaxPartitions = 1024;

// The system of spawn_shard's outbox actor: always local, it is how messages leave.
constexpr const char *kShardSystem = "spawn-shard";

struct ShardMap {
  bool loaded;
  bool sharded;
  int partition_count;
  bool owned[kMaxPartitions];
};

ShardMap shard_map;
bool callback_registered = false;

// Any relcache invalidation may mean spawn_shard was installed, configured or dropped.
void ForgetShardMap(Datum, Oid) {
  shard_map.loaded = false;
}

// Reads spawn._shard_identity if it exists, in a nested SPI connection of its own.
void LoadShardMap() {
  if (!callback_registered) {
    CacheRegisterRelcacheCallback(ForgetShardMap, static_cast<Datum>(0));
    callback_registered = true;
  }
  shard_map.sharded = false;
  shard_map.partition_count = 0;
  memset(shard_map.owned, 0, sizeof shard_map.owned);
  const Oid schema = get_namespace_oid("spawn", true);
  if (OidIsValid(schema) && OidIsValid(get_relname_relid("_shard_identity", schema))) {
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "spawn: SPI_connect failed");
    if (SPI_execute("SELECT i.partition_count, p FROM spawn._shard_identity i, "
                    "pg_catalog.unnest(i.partitions) p",
                    true, 0) != SPI_OK_SELECT)
      elog(ERROR, "spawn: could not read spawn._shard_identity");
    for (uint64 i = 0; i < SPI_processed; ++i) {
      bool null_count, null_partition;
      const int count = DatumGetInt32(
          SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &null_count));
      const int partition = DatumGetInt32(
          SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &null_partition));
      if (null_count || null_partition || count < 1 || count > kMaxPartitions ||
          (count & (count - 1)) != 0 || partition < 0 || partition >= count)
        continue;  // spawn_shard's checks keep such rows out
      shard_map.partition_count = count;
      shard_map.owned[partition] = true;
      shard_map.sharded = true;
    }
    SPI_finish();
  }
  shard_map.loaded = true;
}

// True when this backend's server is a configured shard.
bool Sharded() {
  if (!shard_map.loaded) LoadShardMap();
  return shard_map.sharded;
}

}  // namespace

// md5 of the names joined by chr(31), which cannot occur in a name.
int32 ShardHash(const char *system, const char *actor) {
  char *joined = psprintf("%s\x1f%s", system, actor);
  char hex[2 * MD5_DIGEST_LENGTH + 1];
  const char *error = nullptr;
  if (!pg_md5_hash(joined, strlen(joined), hex, &error))
    elog(ERROR, "spawn: could not hash an actor name: %s", error ? error : "unknown error");
  pfree(joined);
  uint32 hash = 0;
  for (int i = 0; i < 8; ++i) {
    const char c = hex[i];
    hash = (hash << 4) | static_cast<uint32>(c <= '9' ? c - '0' : c - 'a' + 10);
  }
  return static_cast<int32>(hash);
}

// The flag test comes first: on a server that is no shard nothing else runs.
bool ShardIsRemote(const char *system, const char *actor) {
  if (!Sharded() || strcmp(system, kShardSystem) == 0) return false;
  const uint32 partition =
      static_cast<uint32>(ShardHash(system, actor)) & (shard_map.partition_count - 1);
  return !shard_map.owned[partition];
}

// A synchronous call cannot span two servers' transactions.
void RequireLocalActor(const char *system, const char *actor) {
  if (!ShardIsRemote(system, actor)) return;
  ereport(ERROR,
          (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
           errmsg("actor \"%s\" of system \"%s\" lives on another shard", actor, system),
           errdetail("An invocation, pipe or forward runs in one transaction on one server."),
           errhint("Invoke it through the router, or send it a cast or a side effect, which "
                   "this shard delivers exactly once.")));
}

// spawn._shard_relay_cast (spawn_shard) queues the outbox message as the current user.
int64 RelayToShard(const char *system, const char *actor, const char *action, Jsonb *payload,
                   Jsonb *metadata, const char *register_ref, TimestampTz deliver_at,
                   const char *reply_channel) {
  if (reply_channel != nullptr)
    ereport(
        ERROR,
        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
         errmsg("an asynchronous request cannot be sent to actor \"%s\" on another shard", actor),
         errdetail("Its reply would be stored on the shard that runs it."),
         errhint("Call spawn.invoke_async through the router, or send a cast.")));
  Oid types[7] = {TEXTOID, TEXTOID, TEXTOID, JSONBOID, JSONBOID, TEXTOID, TIMESTAMPTZOID};
  Datum values[7] = {CStringGetTextDatum(system),
                     CStringGetTextDatum(actor),
                     CStringGetTextDatum(action),
                     PointerGetDatum(payload),
                     PointerGetDatum(metadata),
                     register_ref ? CStringGetTextDatum(register_ref) : static_cast<Datum>(0),
                     TimestampTzGetDatum(deliver_at)};
  const char nulls[7] = {
      ' ', ' ', ' ', payload ? ' ' : 'n', metadata ? ' ' : 'n', register_ref ? ' ' : 'n', ' '};
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "spawn: SPI_connect failed");
  if (SPI_execute_with_args("SELECT spawn._shard_relay_cast($1, $2, $3, $4, $5, $6, $7)", 7, types,
                            values, nulls, false, 1) != SPI_OK_SELECT ||
      SPI_processed != 1)
    elog(ERROR, "spawn: could not queue a message for another shard");
  bool null_id;
  const int64 id =
      DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &null_id));
  SPI_finish();
  return id;
}

// spawn._shard_relay_broadcast (spawn_shard) queues one outbox message for all other shards.
void RelayBroadcastToShards(const char *system, const char *channel, const char *action,
                            Jsonb *payload) {
  if (!Sharded()) return;
  Oid types[4] = {TEXTOID, TEXTOID, TEXTOID, JSONBOID};
  Datum values[4] = {CStringGetTextDatum(system), CStringGetTextDatum(channel),
                     action ? CStringGetTextDatum(action) : static_cast<Datum>(0),
                     PointerGetDatum(payload)};
  const char nulls[4] = {' ', ' ', action ? ' ' : 'n', payload ? ' ' : 'n'};
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "spawn: SPI_connect failed");
  if (SPI_execute_with_args("SELECT spawn._shard_relay_broadcast($1, $2, $3, $4)", 4, types, values,
                            nulls, false, 1) != SPI_OK_SELECT)
    elog(ERROR, "spawn: could not queue a broadcast for the other shards");
  SPI_finish();
}

}  // namespace spawn
