// The lock key is a 64-bit hash of (system, actor), so no table lookup is needed before locking.
// Two actors whose hashes collide would merely serialise; correctness never depends on it.
//
// Why letting an advisory lock go early is safe (see actor_lock.hpp): it happens only after
// this transaction updated the actor's row, and an updated row version stays locked by its
// writer until that transaction (or the subtransaction that wrote it) ends. The next writer
// takes the advisory lock, finds the row updated by a transaction in progress and waits for it
// (StateFetchForWrite), so at most one transaction writes an actor at any time, in the order
// they reached the advisory lock. A rollback of the writer frees the row at once.
#include "src/actor_lock.hpp"

extern "C" {
#include "access/xact.h"
#include "common/hashfn.h"
#include "storage/lock.h"
}

namespace spawn {

namespace {

int kept_locks = 0;  // actor locks this transaction keeps until it ends
bool callback_registered = false;

// Forgets the count when the transaction ends (its locks are gone).
void ResetKeptLocks(XactEvent event, void *) {
  if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
      event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
      event == XACT_EVENT_PREPARE)
    kept_locks = 0;
}

// The advisory lock tag of a hold.
LOCKTAG TagOf(const ActorLockHold *hold) {
  LOCKTAG tag;
  SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, hold->key_high, hold->key_low, kActorLockClass);
  return tag;
}

// Hashes "system\0actor" into the hold's key.
void HashKey(const char *system, const char *actor, ActorLockHold *hold) {
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
  hold->key_high = static_cast<uint32>(hash >> 32);
  hold->key_low = static_cast<uint32>(hash);
}

}  // namespace

// Takes the lock and records how.
void ActorLockTake(const char *system, const char *actor, bool wait, ActorLockHold *hold) {
  HashKey(system, actor, hold);
  LOCKTAG tag = TagOf(hold);
  const LockAcquireResult result = LockAcquire(&tag, ExclusiveLock, false, !wait);
  hold->taken = result != LOCKACQUIRE_NOT_AVAIL;
  hold->fresh = result == LOCKACQUIRE_OK;
  hold->owner = CurrentResourceOwner;
}

// Hashes "system\0actor" and acquires the advisory-class lock.
bool ActorLockAcquire(const char *system, const char *actor, bool wait) {
  ActorLockHold hold;
  ActorLockTake(system, actor, wait, &hold);
  return hold.taken;
}

// Releases a fresh hold under the owner that took it.
void ActorLockLetGo(ActorLockHold *hold) {
  if (!hold->taken || !hold->fresh || hold->owner != CurrentResourceOwner) return;
  LOCKTAG tag = TagOf(hold);
  LockRelease(&tag, ExclusiveLock, false);
  hold->taken = hold->fresh = false;
}

// Keeps the first kKeptActorLocks fresh holds of a transaction; lets the later ones go.
void ActorLockAfterUse(ActorLockHold *hold) {
  if (!hold->taken || !hold->fresh) return;
  if (!callback_registered) {
    RegisterXactCallback(ResetKeptLocks, nullptr);
    callback_registered = true;
  }
  if (kept_locks < kKeptActorLocks) {
    ++kept_locks;
    hold->fresh = false;  // kept: never let go by this hold again
    return;
  }
  ActorLockLetGo(hold);
}

}  // namespace spawn
