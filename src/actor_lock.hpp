// The single-writer lock of an actor instance.
#pragma once

namespace spawn {

// Lock class in the advisory lock tag's fourth field. SQL's pg_advisory_* functions use 1 and 2,
// so these locks never collide with a user's keys; pg_locks shows them as advisory locks with
// objsubid 21328.
inline constexpr unsigned short kActorLockClass = 0x5350;

// Takes the transaction-scoped exclusive lock of (system, actor), released at commit or abort.
// With wait, blocks until it is free (deadlocks are found by PostgreSQL's detector) and returns
// true; without, returns false at once when another transaction holds it.
bool ActorLockAcquire(const char *system, const char *actor, bool wait);

}  // namespace spawn
