// Shared memory of the scheduler: one slot per scheduler process (latch, counters, the message
// it is running), the deaths of workers still to be counted as attempts, the state of the
// worker pool, and a table of backends waiting in spawn.wait for a reply. Requested and created
// through the shmem hooks; every process finds it with Shared().
#pragma once

#include "src/pg.hpp"
#include "src/settings.hpp"

extern "C" {
#include "port/atomics.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/timestamp.h"
}

namespace spawn {

inline constexpr int kLauncherSlot = 0;  // slot of the launcher; workers use 1..kMaxWorkers
inline constexpr int kMaxWaiters = 256;

// One scheduler process.
struct ProcessSlot {
  pid_t pid;  // 0 when the process is not running
  Latch *latch;
  uint64 processed;
  uint64 failed;
  uint64 batches;
  uint32 max_batch;
  uint64 busy_us;
  TimestampTz started_at;
  Oid busy_role;           // the role whose messages the worker is running, or InvalidOid
  int64 running_id;        // the message whose handler is running, 0 between messages
  int32 running_attempts;  // its attempts before this one
  bool in_transaction;     // inside a scheduler transaction (DROP EXTENSION waits for it)
  // Worker slots (bgworker/worker_slots.cpp): when the running message started, and how many
  // messages of `fast_role` in a row this worker ran quickly; a role may borrow a worker beyond
  // its share only while every worker it occupies shows such a streak.
  TimestampTz running_since;
  Oid fast_role;
  int32 fast_streak;
  // A worker: the time it sleeps until (a TimestampTz), 0 while it is awake and looking for
  // work. A commit wakes it only for messages due before that time (WorkerSleepsUntil).
  pg_atomic_uint64 sleeps_until;
};

// How a worker ended while it ran a message.
enum class DeathKind : int32 { kNone = 0, kTerminated = 1, kCrashed = 2 };

// A worker that ended while it ran message `id` (after `attempts` attempts): the next worker to
// pick the message up records the death as one failed attempt of it.
struct Blame {
  int64 id;  // 0 when the entry is free
  int32 attempts;
  DeathKind kind;
};

// The mailbox workers as the launcher started them, for spawn.scheduler and for spawn.cast.
struct PoolState {
  int configured;        // spawn.workers
  int registrable;       // slots the postmaster could reserve at start-up (-1: unknown)
  int refused;           // workers the launcher could not start for want of a slot
  bool launcher;         // the launcher was registered with the postmaster
  bool dropping;         // DROP EXTENSION spawn is running: no worker may start or work
  int dropping_pid;      // the backend running it
  bool no_key_logged;    // "no state store key" was logged (once for all workers)
  int64 paused_keys[8];  // key ids of messages or states that cannot be opened (logged once)
};

// A backend in spawn.wait.
struct Waiter {
  int64 request_id;  // 0 when the slot is free
  Latch *latch;
};

struct SharedState {
  LWLock *lock;  // guards the waiter table, slot ownership, blames and the pool state
  ProcessSlot processes[kMaxWorkers + 1];
  Blame blames[kMaxWorkers + 1];  // by the slot of the worker that died
  PoolState pool;
  Waiter waiters[kMaxWaiters];
};

// Installs the shmem request and startup hooks; called from _PG_init.
void SharedInstallHooks();

// The shared state (created at postmaster start).
SharedState *Shared();

// Sets the latch of every running worker.
void WakeWorkers();

// Wakes a worker when the current transaction commits (nothing happens on abort): one that
// sleeps past `due` (the earliest delivery time of the messages this transaction enqueued; 0:
// now), or every awake one when none does; none when they all wake up by `due` by themselves.
void WakeWorkersAtCommit(TimestampTz due = 0);

// Wakes one sleeping worker other than `self` (a worker that found more due work than one
// drain transaction takes).
void WakeIdleWorker(const ProcessSlot *self);

// A worker is awake and about to look for work: commits set its latch from now on. Called
// before the worker's transaction takes its snapshot.
void WorkerAwake(ProcessSlot *slot);

// A worker goes to sleep for `timeout_ms`: commits of messages due later do not wake it.
// Called after the transaction that found nothing due sooner has ended.
void WorkerSleepsUntil(ProcessSlot *slot, long timeout_ms);

// Wakes the launcher when the current transaction commits (new timers or schedules).
void WakeLauncherAtCommit();

// Postmaster: the pool as registered at start-up (copied into every new shared memory).
void SetInitialPool(const PoolState &pool);

// Records that the worker in `slot` starts (id != 0) or ends (id == 0) running a message. Two
// plain stores: this is on the drain's fast path.
inline void SlotRunning(ProcessSlot *slot, int64 id, int32 attempts) {
  slot->running_attempts = attempts;
  slot->running_id = id;
}

// Called in a worker that exits (FATAL, pg_terminate_backend) while it runs a message: leaves a
// blame for it, unless DROP EXTENSION is stopping the workers.
void BlameOnExit(int slot_index);

// True when some worker death is still to be counted (a cheap check without the lock).
bool AnyBlame();

// Takes the blame for message `id` at `attempts`, if there is one; returns its kind (kNone
// when there is none). Stale blames of the same message are dropped.
DeathKind TakeBlame(int64 id, int32 attempts);

// Forgets every blame (the extension, and with it the mailbox, is being dropped).
void ClearBlames();

// Registers this backend as waiting for a request; returns the slot, or -1 when all are taken.
int WaiterRegister(int64 request_id);

// Frees a waiter slot.
void WaiterRelease(int slot);

// Sets the latches of the backends waiting for any of `ids`.
void WakeWaiters(const int64 *ids, int count);

}  // namespace spawn
