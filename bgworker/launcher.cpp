// The launcher: starts the mailbox workers while the extension exists (and again when one
// ends), fires timers and schedules as soon as they are due, and runs the sweeps every
// spawn.housekeeping_interval. It sleeps on its latch in between; a worker that starts or
// stops sets it (bgw_notify_pid).
#include "bgworker/housekeeping.hpp"
#include "src/key_check.hpp"
#include "bgworker/pool.hpp"
#include "bgworker/process.hpp"
#include "bgworker/sweeps.hpp"

extern "C" {
#include "utils/timestamp.h"

PGDLLEXPORT void spawn_launcher_main(Datum arg);
}

// Entry point of "spawn launcher".
void spawn_launcher_main(Datum) {
  spawn::ProcessSlot *slot = spawn::ProcessStart(spawn::kLauncherSlot, "spawn launcher");
  MemoryContext loop_context =
      AllocSetContextCreate(TopMemoryContext, "spawn launcher loop", ALLOCSET_DEFAULT_SIZES);
  TimestampTz last_sweep = 0;
  for (;;) {
    const bool ready = spawn::ProcessBeginIteration(loop_context, false);
    const long pool_wait = spawn::PoolMaintain(ready);
    if (!ready) {
      spawn::ProcessWait(1000);
      continue;
    }
    const TimestampTz started = GetCurrentTimestamp();
    long wait = spawn::setting_housekeeping_ms;
    if (pool_wait >= 0) wait = Min(wait, pool_wait);
    spawn::FireResult timers{0, -1}, schedules{0, -1};
    if (spawn::RunCatalogTransaction("firing timers", spawn::FireTimers, &timers) &&
        timers.next_ms >= 0)
      wait = Min(wait, timers.next_ms);
    if (spawn::RunCatalogTransaction("firing schedules", spawn::FireSchedules, &schedules) &&
        schedules.next_ms >= 0)
      wait = Min(wait, schedules.next_ms);
    if (TimestampDifferenceExceeds(last_sweep, started, spawn::setting_housekeeping_ms)) {
      int deactivated = 0, snapshots = 0;
      bool swept = spawn::SweepDeactivations(&deactivated);
      swept &= spawn::SweepSnapshots(&snapshots);
      if (!spawn::RunCatalogTransaction("applying retention", spawn::ApplyRetention, nullptr))
        spawn::RetentionForgetMarks();
      spawn::RunCatalogTransaction("recording the active key", spawn::RecordActiveKey, nullptr);
      last_sweep = started;
      // A backlog (a burst of actors going idle together) is worked off in back-to-back
      // sweeps; timers and schedules still fire between them. A failed sweep waits as usual.
      if (swept && spawn::SweepsHaveBacklog()) {
        last_sweep = 0;
        wait = Min(wait, 10L);
      }
    }
    const int fired = timers.fired + schedules.fired;
    if (fired > 0) {
      slot->processed += static_cast<uint64>(fired);
      slot->batches += 1;
      slot->max_batch = Max(slot->max_batch, static_cast<uint32>(fired));
    }
    slot->busy_us += static_cast<uint64>(GetCurrentTimestamp() - started);
    spawn::ProcessWait(Max(wait, 1L));
  }
}
