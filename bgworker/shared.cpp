// Latch pointers in the slots are the processes' own procLatch, valid while pid != 0. Counters
// are written only by the process owning the slot and read without locking (aligned 64-bit
// stores are atomic on the platforms PostgreSQL supports for this).
#include "shared.hpp"

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
bool wake_at_commit = false;
bool wake_launcher_at_commit = false;
bool commit_callback_registered = false;

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
    shared->lock = &(GetNamedLWLockTranche("spawn"))->lock;
  }
  LWLockRelease(AddinShmemInitLock);
}

// Wakes workers after a commit that enqueued messages.
void OnTransactionEnd(XactEvent event, void *) {
  if (event == XACT_EVENT_COMMIT && wake_at_commit) WakeWorkers();
  if (event == XACT_EVENT_COMMIT && wake_launcher_at_commit && shared != nullptr) {
    ProcessSlot *launcher = &shared->processes[kLauncherSlot];
    Latch *latch = launcher->latch;
    if (launcher->pid != 0 && latch != nullptr) SetLatch(latch);
  }
  if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
      event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
      event == XACT_EVENT_PREPARE)
    wake_at_commit = wake_launcher_at_commit = false;
}

// Registers the commit callback once per process.
void RegisterCommitCallback() {
  if (!commit_callback_registered) {
    RegisterXactCallback(OnTransactionEnd, nullptr);
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

// Arms the commit-time wakeup of the workers.
void WakeWorkersAtCommit() {
  RegisterCommitCallback();
  wake_at_commit = true;
}

// Arms the commit-time wakeup of the launcher.
void WakeLauncherAtCommit() {
  RegisterCommitCallback();
  wake_launcher_at_commit = true;
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
