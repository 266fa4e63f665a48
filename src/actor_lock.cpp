// The lock key is a 64-bit hash of (system, actor), so no table lookup is needed before locking.
// Two actors whose hashes collide would merely serialise; correctness never depends on it.
#include "src/actor_lock.hpp"

#include "src/pg.hpp"

extern "C" {
#include "common/hashfn.h"
#include "storage/lock.h"
}

namespace spawn {

// Hashes "system\0actor" and acquires the advisory-class lock.
bool ActorLockAcquire(const char *system, const char *actor, bool wait) {
  const size_t system_len = strlen(system);
  const size_t actor_len = strlen(actor);
  char *key = static_cast<char *>(palloc(system_len + actor_len + 1));
  // The key is bytes (system, NUL, actor), hashed by length: it needs no terminator.
  memcpy(key, system, system_len + 1);
  // NOLINTNEXTLINE(bugprone-not-null-terminated-result)
  memcpy(key + system_len + 1, actor, actor_len);
  const uint64 hash = DatumGetUInt64(hash_any_extended(
      reinterpret_cast<unsigned char *>(key), static_cast<int>(system_len + actor_len + 1), 0));
  pfree(key);
  LOCKTAG tag;
  SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, static_cast<uint32>(hash >> 32),
                       static_cast<uint32>(hash), kActorLockClass);
  return LockAcquire(&tag, ExclusiveLock, false, !wait) != LOCKACQUIRE_NOT_AVAIL;
}

}  // namespace spawn
