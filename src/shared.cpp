// Latch pointers in the slots are the processes' own procLatch, valid while pid != 0. Counters
// are written only by the process owning the slot and read without locking (aligned 64-bit
// stores are atomic on the platforms PostgreSQL supports for this).
//
// Waking workers costs a cast nothing measurable: a worker publishes the time it sleeps until
// (0 while awake) before it takes its snapshot and after its transaction ended; a committing
// cast reads it after its commit is visible (full barriers on both sides) and sets the latch
// only when its message is due before then. Either the worker's snapshot sees the message, or
// the committer sees the worker awake (and sets the latch, a no-op for a process not sleeping)
// or asleep until a time it compares against. So a message is never left waiting past its
// delivery time, and 100,000 casts for later wake nobody.
//
// Worker deaths survive a crash restart: when the postmaster reinitialises shared memory after
// a process crashed, an on_shmem_exit callback in the postmaster copies the messages that were
// running (the crashed worker's; the others were killed with SIGQUIT, whose handler clears
// theirs) and the blames not yet recorded out of the old segment, and the startup hook puts
// them into the new one. A fresh start of the server forgets them: a shutdown is no message's
// fault.
#include "src/shared.hpp"

extern "C" {
#include "access/xact.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
}

namespace spawn {

namespace {

SharedState *shared = nullptr;
shmem_request_hook_type previous_request_hook = nullptr;
shmem_startup_hook_type previous_startup_hook = nullptr;
// Wake-ups armed by this transaction's casts: the earliest delivery time enqueued at each open
// (sub)transaction level, innermost last. A rolled-back subtransaction's entry is dropped, so a
// cast rolled back to a savepoint wakes nobody; a committed one's merges into its parent.
struct ArmedWake {
  int level;
  TimestampTz due;
};
constexpr int kArmedDepth = 16;  // deeper levels merge into the innermost entry: a spare wake
ArmedWake armed_wakes[kArmedDepth];
int armed_count = 0;
bool wake_launcher_at_commit = false;
bool commit_callback_registered = false;

// Postmaster-local: blames carried over a crash restart, and the pool as registered.
Blame saved_blames[kMaxWorkers + 1];
PoolState initial_pool;

// In the postmaster, before the crashed generation's shared memory goes away: keeps the deaths.
void SaveBlames(int, Datum) {
  if (shared == nullptr) return;
  for (int i = 1; i <= kMaxWorkers; ++i) {
    Blame blame = shared->blames[i];
    const ProcessSlot *slot = &shared->processes[i];
    const int64 running = slot->running_id;
    if (running > 0) blame = Blame{running, slot->running_attempts, DeathKind::kCrashed};
    const bool valid = blame.id > 0 && blame.attempts >= 0 && blame.kind != DeathKind::kNone;
    saved_blames[i] = valid ? blame : Blame{0, 0, DeathKind::kNone};
  }
  shared = nullptr;
}

// Asks for the shared memory and the LWLock.
void RequestShared() {
  if (previous_request_hook) previous_request_hook();
  RequestAddinShmemSpace(MAXALIGN(sizeof(SharedState)));
  RequestNamedLWLockTranche("spawn", 1);
}

// Creates (or attaches to) the shared state.
void StartupShared() {
  if (previous_startup_hook) previous_startup_hook();
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  bool found;
  shared = static_cast<SharedState *>(ShmemInitStruct("spawn", sizeof(SharedState), &found));
  if (!found) {
    memset(shared, 0, sizeof(SharedState));
    for (ProcessSlot &slot : shared->processes) pg_atomic_init_u64(&slot.sleeps_until, 0);
    shared->lock = &(GetNamedLWLockTranche("spawn"))->lock;
    memcpy(shared->blames, saved_blames, sizeof saved_blames);
    shared->pool = initial_pool;
  }
  LWLockRelease(AddinShmemInitLock);
  if (!IsUnderPostmaster) on_shmem_exit(SaveBlames, 0);
}

// Wakes one worker for messages due at `due`: a worker that sleeps past it, or, when none
// does, every worker that is awake. One is enough: the woken worker's next snapshot is taken
// after our commit and sees the messages, and an awake worker whose latch is set takes another
// snapshot before it sleeps. Waking every worker for every commit cost each request a drain
// transaction in both workers, and their two commits queued on each other (docs/benchmarks.md,
// "Scheduler", session 3). A worker that finds more due than one transaction takes wakes
// another (WakeIdleWorker), so a burst still gets every worker.
void WakeWorkersDueBy(TimestampTz due) {
  if (shared == nullptr) return;
  pg_memory_barrier();  // our commit is visible before we read what the workers published
  ProcessSlot *awake[kMaxWorkers];
  int awake_count = 0;
  for (int i = 1; i <= kMaxWorkers; ++i) {
    ProcessSlot *slot = &shared->processes[i];
    Latch *latch = slot->latch;
    const uint64 sleeps_until = pg_atomic_read_u64(&slot->sleeps_until);
    if (slot->pid == 0 || latch == nullptr) continue;
    if (sleeps_until == 0) {
      awake[awake_count++] = slot;
    } else if (due < static_cast<TimestampTz>(sleeps_until)) {
      SetLatch(latch);
      return;
    }
  }
  for (int i = 0; i < awake_count; ++i) {
    Latch *latch = awake[i]->latch;
    if (latch != nullptr) SetLatch(latch);
  }
}

// The earliest delivery time armed at any level.
TimestampTz EarliestArmedDue() {
  TimestampTz due = armed_wakes[0].due;
  for (int i = 1; i < armed_count; ++i) due = Min(due, armed_wakes[i].due);
  return due;
}

// Drops the wake-ups of a rolled-back subtransaction; hands a committed one's to its parent.
void OnSubTransactionEnd(SubXactEvent event, SubTransactionId, SubTransactionId, void *) {
  if (armed_count == 0) return;
  const int level = GetCurrentTransactionNestLevel();
  ArmedWake *top = &armed_wakes[armed_count - 1];
  if (top->level < level) return;  // nothing armed at this level
  if (event == SUBXACT_EVENT_ABORT_SUB) {
    --armed_count;
  } else if (event == SUBXACT_EVENT_COMMIT_SUB) {
    top->level = level - 1;
    if (armed_count > 1 && armed_wakes[armed_count - 2].level == level - 1) {
      armed_wakes[armed_count - 2].due = Min(armed_wakes[armed_count - 2].due, top->due);
      --armed_count;
    }
  }
}

// Wakes workers after a commit that enqueued messages.
void OnTransactionEnd(XactEvent event, void *) {
  if (event == XACT_EVENT_COMMIT && armed_count > 0) WakeWorkersDueBy(EarliestArmedDue());
  if (event == XACT_EVENT_COMMIT && wake_launcher_at_commit && shared != nullptr) {
    ProcessSlot *launcher = &shared->processes[kLauncherSlot];
    Latch *latch = launcher->latch;
    if (launcher->pid != 0 && latch != nullptr) SetLatch(latch);
  }
  if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
      event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
      event == XACT_EVENT_PREPARE) {
    armed_count = 0;
    wake_launcher_at_commit = false;
  }
}

// Registers the commit callback once per process.
void RegisterCommitCallback() {
  if (!commit_callback_registered) {
    RegisterXactCallback(OnTransactionEnd, nullptr);
    RegisterSubXactCallback(OnSubTransactionEnd, nullptr);
    commit_callback_registered = true;
  }
}

}  // namespace

// Chains the shmem hooks.
void SharedInstallHooks() {
  previous_request_hook = shmem_request_hook;
  shmem_request_hook = RequestShared;
  previous_startup_hook = shmem_startup_hook;
  shmem_startup_hook = StartupShared;
}

// Returns the shared state.
SharedState *Shared() {
  return shared;
}

// Sets every running worker's latch.
void WakeWorkers() {
  if (shared == nullptr) return;
  for (int i = 1; i <= kMaxWorkers; ++i) {
    ProcessSlot *slot = &shared->processes[i];
    Latch *latch = slot->latch;
    if (slot->pid != 0 && latch != nullptr) SetLatch(latch);
  }
}

// Sets the latch of one sleeping worker other than `self`, if any.
void WakeIdleWorker(const ProcessSlot *self) {
  if (shared == nullptr) return;
  for (int i = 1; i <= kMaxWorkers; ++i) {
    ProcessSlot *slot = &shared->processes[i];
    Latch *latch = slot->latch;
    if (slot == self || slot->pid == 0 || latch == nullptr) continue;
    if (pg_atomic_read_u64(&slot->sleeps_until) != 0) {
      SetLatch(latch);
      return;
    }
  }
}

// Arms the commit-time wakeup of the workers for the earliest delivery time enqueued.
void WakeWorkersAtCommit(TimestampTz due) {
  RegisterCommitCallback();
  const int level = GetCurrentTransactionNestLevel();
  ArmedWake *top = armed_count > 0 ? &armed_wakes[armed_count - 1] : nullptr;
  if (top != nullptr && (top->level == level || armed_count == kArmedDepth))
    top->due = Min(top->due, due);
  else
    armed_wakes[armed_count++] = ArmedWake{level, due};
}

// Publishes that the worker is awake (before its snapshot is taken).
void WorkerAwake(ProcessSlot *slot) {
  pg_atomic_write_u64(&slot->sleeps_until, 0);
  pg_memory_barrier();
}

// Publishes the time the worker sleeps until (never 0, which means awake).
void WorkerSleepsUntil(ProcessSlot *slot, long timeout_ms) {
  const TimestampTz until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
  pg_atomic_write_u64(&slot->sleeps_until, static_cast<uint64>(Max(until, 1)));
  pg_memory_barrier();
}

// Arms the commit-time wakeup of the launcher.
void WakeLauncherAtCommit() {
  RegisterCommitCallback();
  wake_launcher_at_commit = true;
}

// Keeps what the registration found, for every generation of shared memory.
void SetInitialPool(const PoolState &pool) {
  initial_pool = pool;
}

// Leaves a blame for the message the exiting worker was running.
void BlameOnExit(int slot_index) {
  if (shared == nullptr || slot_index <= 0 || slot_index > kMaxWorkers) return;
  ProcessSlot *slot = &shared->processes[slot_index];
  const int64 running = slot->running_id;
  if (running <= 0) return;
  LWLockAcquire(shared->lock, LW_EXCLUSIVE);
  if (!shared->pool.dropping)
    shared->blames[slot_index] = Blame{running, slot->running_attempts, DeathKind::kTerminated};
  LWLockRelease(shared->lock);
  slot->running_id = 0;
}

// Looks for any blame without taking the lock.
bool AnyBlame() {
  if (shared == nullptr) return false;
  for (int i = 1; i <= kMaxWorkers; ++i)
    if (shared->blames[i].id != 0) return true;
  return false;
}

// Takes (and clears) the blames of one message.
DeathKind TakeBlame(int64 id, int32 attempts) {
  DeathKind kind = DeathKind::kNone;
  LWLockAcquire(shared->lock, LW_EXCLUSIVE);
  for (int i = 1; i <= kMaxWorkers; ++i) {
    Blame *blame = &shared->blames[i];
    if (blame->id != id) continue;
    if (blame->attempts == attempts) kind = blame->kind;
    *blame = Blame{0, 0, DeathKind::kNone};
  }
  LWLockRelease(shared->lock);
  return kind;
}

// Forgets every blame.
void ClearBlames() {
  if (shared == nullptr) return;
  LWLockAcquire(shared->lock, LW_EXCLUSIVE);
  memset(shared->blames, 0, sizeof shared->blames);
  LWLockRelease(shared->lock);
}

// Claims a free waiter slot.
int WaiterRegister(int64 request_id) {
  if (shared == nullptr) return -1;
  int found = -1;
  LWLockAcquire(shared->lock, LW_EXCLUSIVE);
  for (int i = 0; i < kMaxWaiters && found < 0; ++i) {
    if (shared->waiters[i].request_id == 0) {
      shared->waiters[i].request_id = request_id;
      shared->waiters[i].latch = MyLatch;
      found = i;
    }
  }
  LWLockRelease(shared->lock);
  return found;
}

// Frees a waiter slot.
void WaiterRelease(int slot) {
  if (shared == nullptr || slot < 0) return;
  LWLockAcquire(shared->lock, LW_EXCLUSIVE);
  shared->waiters[slot].request_id = 0;
  shared->waiters[slot].latch = nullptr;
  LWLockRelease(shared->lock);
}

// Wakes the waiters of the given requests.
void WakeWaiters(const int64 *ids, int count) {
  if (shared == nullptr || count == 0) return;
  LWLockAcquire(shared->lock, LW_SHARED);
  for (int i = 0; i < kMaxWaiters; ++i) {
    const int64 waiting_for = shared->waiters[i].request_id;
    if (waiting_for == 0) continue;
    for (int j = 0; j < count; ++j)
      if (ids[j] == waiting_for) SetLatch(shared->waiters[i].latch);
  }
  LWLockRelease(shared->lock);
}

}  // namespace spawn
