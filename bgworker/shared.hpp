// Shared memory of the scheduler: one slot per scheduler process (latch and counters) and a
// table of backends waiting in spawn.wait for a reply. Requested and created through the shmem
// hooks; every process finds it with Shared().
#pragma once

#include "pg.hpp"
#include "settings.hpp"

extern "C" {
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
  Oid busy_role;  // the role whose messages the worker is running, or InvalidOid
};

// A backend in spawn.wait.
struct Waiter {
  int64 request_id;  // 0 when the slot is free
  Latch *latch;
};

struct SharedState {
  LWLock *lock;  // guards the waiter table and slot ownership
  ProcessSlot processes[kMaxWorkers + 1];
  Waiter waiters[kMaxWaiters];
};

// Installs the shmem request and startup hooks; called from _PG_init.
void SharedInstallHooks();

// The shared state (created at postmaster start).
SharedState *Shared();

// Sets the latch of every running worker.
void WakeWorkers();

// Wakes the workers when the current transaction commits (nothing happens on abort).
void WakeWorkersAtCommit();

// Wakes the launcher when the current transaction commits (new timers or schedules).
void WakeLauncherAtCommit();

// Registers this backend as waiting for a request; returns the slot, or -1 when all are taken.
int WaiterRegister(int64 request_id);

// Frees a waiter slot.
void WaiterRelease(int slot);

// Sets the latches of the backends waiting for any of `ids`.
void WakeWaiters(const int64 *ids, int count);

}  // namespace spawn
