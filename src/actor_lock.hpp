// The single-writer lock of an actor instance.
//
// Every writer of an actor meets at its advisory lock before it reads the state. A transaction
// keeps the advisory locks of the first kKeptActorLocks actors it uses until it ends, like any
// transaction-scoped lock. From then on, each further actor's advisory lock is released as soon
// as the actor's state row is written: the row version this transaction wrote holds off every
// other writer until commit or rollback (a writer that finds the row updated by a transaction
// still in progress waits for it, state_store.hpp), so the shared lock table holds a bounded
// number of entries per transaction however many actors it touches (docs/design.md).
#pragma once

#include "src/pg.hpp"

extern "C" {
#include "utils/resowner.h"
}

namespace spawn {

// Lock class in the advisory lock tag's fourth field. SQL's pg_advisory_* functions use 1 and 2,
// so these locks never collide with a user's keys; pg_locks shows them as advisory locks with
// objsubid 21328.
inline constexpr unsigned short kActorLockClass = 0x5350;

// How many actors' advisory locks a transaction keeps until it ends; later ones are released
// once their row is written. 16 keeps the common transactions exactly as before (visible in
// pg_locks until commit) while 100 sessions x 16 fit in the default lock table (64 per session).
inline constexpr int kKeptActorLocks = 16;

// A hold of an actor's advisory lock, as taken by ActorLockTake.
struct ActorLockHold {
  bool taken;           // this call holds it (fresh or again)
  bool fresh;           // this call took it, rather than finding it held by this transaction
  ResourceOwner owner;  // the resource owner it was taken under
  uint32 key_high;      // the lock tag's key (the hash of system and actor)
  uint32 key_low;
};

// Takes the transaction-scoped exclusive lock of (system, actor), released at commit or abort.
// With wait, blocks until it is free (deadlocks are found by PostgreSQL's detector) and returns
// true; without, returns false at once when another transaction holds it.
bool ActorLockAcquire(const char *system, const char *actor, bool wait);

// Same as ActorLockAcquire, and says how: hold->taken is false when it was not available.
void ActorLockTake(const char *system, const char *actor, bool wait, ActorLockHold *hold);

// Releases a hold this call took fresh under the current resource owner (no-op otherwise): for
// callers that never keep an actor (the launcher's sweeps), once its row is written or read.
void ActorLockLetGo(ActorLockHold *hold);

// After the actor's row was written (or read, for a reader): keeps the lock until the
// transaction ends if the transaction keeps fewer than kKeptActorLocks, else lets it go.
void ActorLockAfterUse(ActorLockHold *hold);

}  // namespace spawn
