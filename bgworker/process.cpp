// Errors inside a scheduler transaction are caught here and logged (a failure that repeats is
// logged once a minute, not at every attempt), so one failure never ends the process; the
// process exits only on SIGTERM, postmaster death, or (a mailbox worker) when the extension is
// gone. A worker that exits while it runs a message leaves a blame for it (BlameOnExit); one
// killed with SIGQUIT (the postmaster's crash restart, caused by another process) clears it.
#include "bgworker/process.hpp"

#include "src/guard.hpp"

extern "C" {
#include "access/xact.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "common/hashfn.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
}

namespace spawn {

namespace {

int claimed_slot = -1;
ProcessSlot *volatile my_slot = nullptr;

// Frees the shared slot when the process exits, blaming the message it was running if any.
void ReleaseSlot(int, Datum) {
  SharedState *shared = Shared();
  if (shared == nullptr || claimed_slot < 0) return;
  BlameOnExit(claimed_slot);
  shared->processes[claimed_slot].latch = nullptr;
  shared->processes[claimed_slot].pid = 0;
}

// SIGQUIT: the postmaster ends every process because another one crashed; the message this one
// runs is not to blame. Only async-signal-safe work: a store and _exit.
void QuitWithoutBlame([[maybe_unused]] SIGNAL_ARGS) {
  ProcessSlot *slot = my_slot;
  if (slot != nullptr) slot->running_id = 0;
  _exit(2);
}

// Takes slot `slot` for this process; false when another live process holds it (a worker the
// previous launcher had started).
bool ClaimSlot(SharedState *shared, int slot) {
  ProcessSlot *mine = &shared->processes[slot];
  LWLockAcquire(shared->lock, LW_EXCLUSIVE);
  const bool taken = mine->pid != 0 && mine->pid != MyProcPid && kill(mine->pid, 0) == 0;
  if (!taken) {
    memset(mine, 0, sizeof *mine);
    mine->started_at = GetCurrentTimestamp();
    mine->latch = MyLatch;
    mine->pid = MyProcPid;
  }
  LWLockRelease(shared->lock);
  return !taken;
}

}  // namespace

// Starts a scheduler process.
ProcessSlot *ProcessStart(int slot, const char *name) {
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, die);
  pqsignal(SIGQUIT, QuitWithoutBlame);
  BackgroundWorkerUnblockSignals();
  SharedState *shared = Shared();
  if (!ClaimSlot(shared, slot)) proc_exit(0);
  claimed_slot = slot;
  my_slot = &shared->processes[slot];
  before_shmem_exit(ReleaseSlot, 0);
  BackgroundWorkerInitializeConnection(setting_database, nullptr, 0);
  SetConfigOption("application_name", name, PGC_USERSET, PGC_S_SESSION);
  pgstat_report_appname(name);
  return my_slot;
}

namespace {

// Looks for the extension (in its own transaction). A catalog lookup, not an SPI query: a
// mailbox worker runs this at every wake-up, once or twice per async request at 1,000
// requests/s, and the query's parse, plan and executor cost more than all the rest of that
// transaction (docs/benchmarks.md, "Scheduler", session 3).
bool ExtensionReady() {
  bool ready = false;
  RunTransaction(
      "extension check",
      [](void *out) { *static_cast<bool *>(out) = OidIsValid(get_extension_oid("spawn", true)); },
      &ready);
  return ready;
}

}  // namespace

// Resets the loop's memory and checks for the extension; a mailbox worker exits without it.
bool ProcessBeginIteration(MemoryContext loop_context, bool exit_without_extension) {
  MemoryContextSwitchTo(loop_context);
  MemoryContextReset(loop_context);
  if (ExtensionReady()) return true;
  if (exit_without_extension) proc_exit(0);
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

namespace {

// The last failure logged for one kind of transaction.
struct LoggedFailure {
  const char *what;
  uint32 hash;  // of the message
  TimestampTz at;
};
LoggedFailure logged_failures[16];

// True when `message` should be logged for `what`: not the same failure as in the last minute.
bool FirstTimeFailure(const char *what, const char *message) {
  const uint32 hash = hash_bytes(reinterpret_cast<const unsigned char *>(message),
                                 static_cast<int>(strlen(message)));
  const TimestampTz now = GetCurrentTimestamp();
  LoggedFailure *free_entry = nullptr;
  for (LoggedFailure &entry : logged_failures) {
    if (entry.what == what) {
      const bool repeated =
          entry.hash == hash && !TimestampDifferenceExceeds(entry.at, now, 60 * 1000);
      if (!repeated) entry = LoggedFailure{what, hash, now};
      return !repeated;
    }
    if (entry.what == nullptr && free_entry == nullptr) free_entry = &entry;
  }
  if (free_entry != nullptr) *free_entry = LoggedFailure{what, hash, now};
  return true;
}

// Forgets the failure of `what` after it succeeded.
void ForgetFailure(const char *what) {
  for (LoggedFailure &entry : logged_failures)
    if (entry.what == what) entry = LoggedFailure{nullptr, 0, 0};
}

}  // namespace

namespace {

// The function and argument of a catalog transaction.
struct CatalogWork {
  void (*fn)(Catalog *, void *);
  void *arg;
};

// Runs a catalog transaction's function with the catalog held.
void HoldCatalog(void *arg) {
  auto *work = static_cast<CatalogWork *>(arg);
  CatalogHold(work->fn, work->arg);
}

}  // namespace

// One transaction of work, with errors caught and logged.
bool RunTransaction(const char *what, void (*fn)(void *), void *arg) {
  MemoryContext loop_context = CurrentMemoryContext;
  volatile bool ok = true;
  // DROP EXTENSION sets `dropping`, then waits for in_transaction to clear: with the barrier,
  // either it sees this transaction or this process sees the flag and starts none.
  if (my_slot != nullptr) my_slot->in_transaction = true;
  pg_memory_barrier();
  if (Shared()->pool.dropping) {
    if (my_slot != nullptr) my_slot->in_transaction = false;
    return false;
  }
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
    if (FirstTimeFailure(what, error->message))
      ereport(LOG, (errmsg("spawn: %s failed: %s", what, error->message),
                    errdetail("The same failure is logged again after a minute at the earliest.")));
    FreeErrorData(error);
    ok = false;
  }
  PG_END_TRY();
  if (ok) ForgetFailure(what);
  if (my_slot != nullptr) my_slot->in_transaction = false;
  pgstat_report_activity(STATE_IDLE, nullptr);
  MemoryContextSwitchTo(loop_context);
  return ok;
}

// A transaction whose function holds the catalog.
bool RunCatalogTransaction(const char *what, void (*fn)(Catalog *, void *), void *arg) {
  CatalogWork work{fn, arg};
  return RunTransaction(what, HoldCatalog, &work);
}
// One subtransaction of work inside the current transaction.
bool RunSubtransaction(void (*fn)(void *), void *arg, ErrorData **error) {
  MemoryContext outer_context = CurrentMemoryContext;
  ResourceOwner outer_owner = CurrentResourceOwner;
  volatile bool ok = true;
  *error = nullptr;
  BeginInternalSubTransaction(nullptr);
  MemoryContextSwitchTo(outer_context);
  PG_TRY();
  {
    RunGuarded(fn, arg);
    ReleaseCurrentSubTransaction();
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(outer_context);
    *error = CopyErrorData();
    FlushErrorState();
    RollbackAndReleaseCurrentSubTransaction();
    ok = false;
  }
  PG_END_TRY();
  MemoryContextSwitchTo(outer_context);
  CurrentResourceOwner = outer_owner;
  return ok;
}

}  // namespace spawn
