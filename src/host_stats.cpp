// A fixed table of slots, one per host, under one spinlock held only to copy a few fields. A
// slot is keyed by host id and name, so a host registered again after DROP EXTENSION (ids start
// over) does not inherit another host's figures. Hosts beyond kMaxHosts are not counted.
#include "src/host_stats.hpp"

#include "src/guard.hpp"

extern "C" {
#include "funcapi.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/timestamp.h"
}

namespace spawn {

namespace {

constexpr int kMaxHosts = 256;
constexpr int kErrorBytes = 256;

struct HostSlot {
  int32 host_id;  // 0: free
  char name[NAMEDATALEN];
  uint64 calls;
  uint64 failures;
  double total_ms;
  double last_ms;
  TimestampTz last_error_at;
  char last_error[kErrorBytes];
};

struct HostStats {
  slock_t lock;
  HostSlot slots[kMaxHosts];
};

HostStats *stats = nullptr;
shmem_request_hook_type previous_request_hook = nullptr;
shmem_startup_hook_type previous_startup_hook = nullptr;

// Asks for the table's shared memory.
void RequestStats() {
  if (previous_request_hook) previous_request_hook();
  RequestAddinShmemSpace(MAXALIGN(sizeof(HostStats)));
}

// Creates (or attaches to) the table.
void StartupStats() {
  if (previous_startup_hook) previous_startup_hook();
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  bool found;
  stats = static_cast<HostStats *>(ShmemInitStruct("spawn host stats", sizeof(HostStats), &found));
  if (!found) {
    memset(stats, 0, sizeof *stats);
    SpinLockInit(&stats->lock);
  }
  LWLockRelease(AddinShmemInitLock);
}

// The host's slot, claimed when new; NULL when the table is full. Spinlock held.
HostSlot *FindSlot(int32 host_id, const char *name) {
  HostSlot *free_slot = nullptr;
  for (HostSlot &slot : stats->slots) {
    if (slot.host_id == host_id) {
      if (strcmp(slot.name, name) != 0) {
        memset(&slot, 0, sizeof slot);
        slot.host_id = host_id;
        strlcpy(slot.name, name, NAMEDATALEN);
      }
      return &slot;
    }
    if (slot.host_id == 0 && free_slot == nullptr) free_slot = &slot;
  }
  if (free_slot != nullptr) {
    free_slot->host_id = host_id;
    strlcpy(free_slot->name, name, NAMEDATALEN);
  }
  return free_slot;
}

}  // namespace

// Chains the shared memory hooks.
void HostStatsInstallHooks() {
  previous_request_hook = shmem_request_hook;
  shmem_request_hook = RequestStats;
  previous_startup_hook = shmem_startup_hook;
  shmem_startup_hook = StartupStats;
}

// Adds one call to the host's slot.
void HostStatsRecord(int32 host_id, const char *host_name, double latency_ms, const char *error) {
  if (stats == nullptr) return;
  const TimestampTz now = error != nullptr ? GetCurrentTimestamp() : 0;
  SpinLockAcquire(&stats->lock);
  HostSlot *slot = FindSlot(host_id, host_name);
  if (slot != nullptr) {
    ++slot->calls;
    slot->total_ms += latency_ms;
    slot->last_ms = latency_ms;
    if (error != nullptr) {
      ++slot->failures;
      slot->last_error_at = now;
      strlcpy(slot->last_error, error, kErrorBytes);
    }
  }
  SpinLockRelease(&stats->lock);
}

}  // namespace spawn

// spawn._host_stats() RETURNS SETOF record: one row per host called since the server started.
SPAWN_FUNCTION(spawn_host_stats) {
  InitMaterializedSRF(fcinfo, 0);
  auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
  if (spawn::stats == nullptr) return static_cast<Datum>(0);
  static spawn::HostSlot copy[spawn::kMaxHosts];
  SpinLockAcquire(&spawn::stats->lock);
  memcpy(copy, spawn::stats->slots, sizeof copy);
  SpinLockRelease(&spawn::stats->lock);
  for (const spawn::HostSlot &slot : copy) {
    if (slot.host_id == 0) continue;
    Datum values[7] = {Int32GetDatum(slot.host_id),
                       Int64GetDatum(static_cast<int64>(slot.calls)),
                       Int64GetDatum(static_cast<int64>(slot.failures)),
                       Float8GetDatum(slot.calls > 0 ? slot.total_ms / slot.calls : 0),
                       Float8GetDatum(slot.last_ms),
                       CStringGetTextDatum(slot.last_error),
                       TimestampTzGetDatum(slot.last_error_at)};
    bool nulls[7] = {false,
                     false,
                     false,
                     slot.calls == 0,
                     slot.calls == 0,
                     slot.last_error[0] == '\0',
                     slot.last_error_at == 0};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  return static_cast<Datum>(0);
}
