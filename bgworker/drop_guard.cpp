// Why: DROP EXTENSION locks spawn's tables one at a time as it drops them. A worker in the
// middle of a batch holds some of those tables and waits for another that the DROP already
// holds: a deadlock that PostgreSQL resolves by failing the DROP, or the worker's message
// (40P01, counted as an attempt). So, before the standard DROP runs, in the database whose
// mailbox the workers drain:
//  1. `dropping` is set in shared memory: the launcher and the workers start no transaction,
//     and the launcher starts no worker, until the DROP's transaction ends (commit or abort);
//  2. the mailbox workers are terminated (their blames are not kept: the mailbox goes away)
//     and the DROP waits until they are gone and the launcher is between transactions;
//  3. every relation of the extension is locked; a deadlock with a session that is using
//     spawn rolls back only those locks (a subtransaction) and is tried again.
// After a commit the workers stay away (the extension is gone); after an abort the launcher
// starts them again.
#include "bgworker/drop_guard.hpp"

#include "src/pg.hpp"
#include "bgworker/process.hpp"
#include "src/settings.hpp"
#include "src/shared.hpp"

extern "C" {
#include "access/genam.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/pg_class.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_extension.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "utils/fmgroids.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "utils/wait_event.h"
}

#include <signal.h>

namespace spawn {

namespace {

ProcessUtility_hook_type previous_utility_hook = nullptr;
bool callback_registered = false;
constexpr int kWaitForWorkersMs = 30000;
constexpr int kLockAttempts = 100;

// True for DROP EXTENSION naming spawn.
bool IsDropOfSpawn(Node *node) {
  if (node == nullptr || !IsA(node, DropStmt)) return false;
  auto *drop = reinterpret_cast<DropStmt *>(node);
  if (drop->removeType != OBJECT_EXTENSION) return false;
  ListCell *cell;
  foreach (cell, drop->objects)
    if (strcmp(strVal(lfirst(cell)), "spawn") == 0) return true;
  return false;
}

// Ends the pause when the DROP's transaction ends, and wakes the launcher.
void OnDropTransactionEnd(XactEvent event, void *) {
  if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
      event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT &&
      event != XACT_EVENT_PREPARE)
    return;
  SharedState *shared = Shared();
  if (shared == nullptr || !shared->pool.dropping || shared->pool.dropping_pid != MyProcPid) return;
  shared->pool.dropping = false;
  shared->pool.dropping_pid = 0;
  ProcessSlot *launcher = &shared->processes[kLauncherSlot];
  Latch *latch = launcher->latch;
  if (launcher->pid != 0 && latch != nullptr) SetLatch(latch);
}

// True while a mailbox worker runs, or the launcher is inside a transaction.
bool SchedulerBusy(SharedState *shared) {
  pg_memory_barrier();
  if (shared->processes[kLauncherSlot].in_transaction) return true;
  for (int i = 1; i <= kMaxWorkers; ++i)
    if (shared->processes[i].pid != 0) return true;
  return false;
}

// Sets `dropping`, terminates the workers and waits for the scheduler to be idle.
void StopScheduler() {
  SharedState *shared = Shared();
  if (!callback_registered) {
    RegisterXactCallback(OnDropTransactionEnd, nullptr);
    callback_registered = true;
  }
  shared->pool.dropping_pid = MyProcPid;
  shared->pool.dropping = true;
  pg_memory_barrier();
  ClearBlames();
  for (int i = 1; i <= kMaxWorkers; ++i) {
    const pid_t pid = shared->processes[i].pid;
    if (pid != 0) kill(pid, SIGTERM);
  }
  for (int waited = 0; SchedulerBusy(shared); waited += 10) {
    if (waited >= kWaitForWorkersMs) {
      ereport(WARNING, (errmsg("spawn: the scheduler did not stop within %d s; dropping anyway",
                               kWaitForWorkersMs / 1000)));
      return;
    }
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10,
                    PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
  }
}

// The relations (tables, sequences, views, types) that belong to the extension, in OID order
// so that every attempt locks them in the same order: its pg_depend entries of type 'e', read
// through the (refclassid, refobjid) index as PostgreSQL's own extension code reads them.
List *ExtensionRelations(Oid extension) {
  Relation depend = table_open(DependRelationId, AccessShareLock);
  ScanKeyData keys[2];
  ScanKeyInit(&keys[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber, F_OIDEQ,
              ObjectIdGetDatum(ExtensionRelationId));
  ScanKeyInit(&keys[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber, F_OIDEQ,
              ObjectIdGetDatum(extension));
  SysScanDesc scan = systable_beginscan(depend, DependReferenceIndexId, true, nullptr, 2, keys);
  List *relations = NIL;
  HeapTuple tuple;
  while (HeapTupleIsValid(tuple = systable_getnext(scan))) {
    const auto *entry = reinterpret_cast<Form_pg_depend>(GETSTRUCT(tuple));
    if (entry->classid == RelationRelationId && entry->deptype == DEPENDENCY_EXTENSION)
      relations = lappend_oid(relations, entry->objid);
  }
  systable_endscan(scan);
  table_close(depend, AccessShareLock);
  list_sort(relations, list_oid_cmp);
  return relations;
}

// Locks every relation in the list (runs inside a subtransaction).
void LockAll(void *arg) {
  ListCell *cell;
  foreach (cell, static_cast<List *>(arg)) LockRelationOid(lfirst_oid(cell), AccessExclusiveLock);
}

// Locks the extension's relations, trying again after a deadlock with a session using them.
void LockExtension(Oid extension) {
  List *relations = ExtensionRelations(extension);
  for (int attempt = 1;; ++attempt) {
    ErrorData *error;
    if (RunSubtransaction(LockAll, relations, &error)) return;
    if (error->sqlerrcode != ERRCODE_T_R_DEADLOCK_DETECTED || attempt >= kLockAttempts)
      ReThrowError(error);
    FreeErrorData(error);
    CHECK_FOR_INTERRUPTS();
  }
}

// Prepares the drop of spawn in the workers' database.
void PrepareDrop() {
  if (Shared() == nullptr || MyDatabaseId != get_database_oid(setting_database, true)) return;
  const Oid extension = get_extension_oid("spawn", true);
  if (!OidIsValid(extension)) return;
  StopScheduler();
  LockExtension(extension);
}

// The hook: prepares a DROP EXTENSION spawn, then runs the statement as usual.
void GuardedProcessUtility(PlannedStmt *pstmt, const char *query, bool read_only_tree,
                           ProcessUtilityContext context, ParamListInfo params,
                           QueryEnvironment *env, DestReceiver *dest, QueryCompletion *qc) {
  if (IsDropOfSpawn(pstmt->utilityStmt)) PrepareDrop();
  if (previous_utility_hook != nullptr)
    previous_utility_hook(pstmt, query, read_only_tree, context, params, env, dest, qc);
  else
    standard_ProcessUtility(pstmt, query, read_only_tree, context, params, env, dest, qc);
}

}  // namespace

// Chains the hook.
void InstallDropGuard() {
  previous_utility_hook = ProcessUtility_hook;
  ProcessUtility_hook = GuardedProcessUtility;
}

}  // namespace spawn
