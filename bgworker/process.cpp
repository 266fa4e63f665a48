// Errors inside a scheduler transaction are caught here and logged, so one failure never ends
// the process; the process exits only on SIGTERM or postmaster death.
#include "process.hpp"

#include "guard.hpp"

extern "C" {
#include "access/xact.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
}

namespace spawn {

namespace {

int claimed_slot = -1;

// Frees the shared slot when the process exits.
void ReleaseSlot(int, Datum) {
  SharedState *shared = Shared();
  if (shared == nullptr || claimed_slot < 0) return;
  shared->processes[claimed_slot].latch = nullptr;
  shared->processes[claimed_slot].pid = 0;
}

}  // namespace

// Starts a scheduler process.
ProcessSlot *ProcessStart(int slot, const char *name) {
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  BackgroundWorkerInitializeConnection(setting_database, nullptr, 0);
  SetConfigOption("application_name", name, PGC_USERSET, PGC_S_SESSION);
  pgstat_report_appname(name);
  SharedState *shared = Shared();
  ProcessSlot *mine = &shared->processes[slot];
  memset(mine, 0, sizeof *mine);
  mine->started_at = GetCurrentTimestamp();
  mine->latch = MyLatch;
  mine->pid = MyProcPid;
  claimed_slot = slot;
  before_shmem_exit(ReleaseSlot, 0);
  return mine;
}

namespace {

// Looks for the extension (in its own transaction).
bool ExtensionReady() {
  bool ready = false;
  RunTransaction(
      "extension check",
      [](void *out) {
        SPI_execute("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'spawn'", true, 1);
        *static_cast<bool *>(out) = SPI_processed == 1;
      },
      &ready);
  return ready;
}

}  // namespace

// Resets the loop's memory and checks for the extension.
bool ProcessBeginIteration(MemoryContext loop_context) {
  MemoryContextSwitchTo(loop_context);
  MemoryContextReset(loop_context);
  if (ExtensionReady()) return true;
  ProcessWait(1000);
  return false;
}

// Waits on the latch.
void ProcessWait(long timeout_ms) {
  (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
                  timeout_ms < 0 ? 0 : timeout_ms, PG_WAIT_EXTENSION);
  ResetLatch(MyLatch);
  ProcessCheckSignals();
}

// Exits on SIGTERM, reloads the configuration after SIGHUP.
void ProcessCheckSignals() {
  CHECK_FOR_INTERRUPTS();
  if (ConfigReloadPending) {
    ConfigReloadPending = false;
    ProcessConfigFile(PGC_SIGHUP);
  }
}

// One transaction of work, with errors caught and logged.
bool RunTransaction(const char *what, void (*fn)(void *), void *arg) {
  MemoryContext loop_context = CurrentMemoryContext;
  volatile bool ok = true;
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  PushActiveSnapshot(GetTransactionSnapshot());
  pgstat_report_activity(STATE_RUNNING, what);
  PG_TRY();
  {
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "spawn: SPI_connect failed");
    RunGuarded(fn, arg);
    SPI_finish();
    PopActiveSnapshot();
    CommitTransactionCommand();
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(loop_context);
    ErrorData *error = CopyErrorData();
    FlushErrorState();
    AbortCurrentTransaction();
    ereport(LOG, (errmsg("spawn: %s failed: %s", what, error->message)));
    FreeErrorData(error);
    ok = false;
  }
  PG_END_TRY();
  pgstat_report_activity(STATE_IDLE, nullptr);
  MemoryContextSwitchTo(loop_context);
  return ok;
}

}  // namespace spawn
