// SQL entry points of cron schedules and state history: spawn.schedule, spawn.state_history,
// spawn.restore.
#include <string>

#include "src/actor_lock.hpp"
#include "src/catalog.hpp"
#include "src/core/cron.hpp"
#include "src/guard.hpp"
#include "src/history.hpp"
#include "src/invoke.hpp"
#include "src/journal.hpp"
#include "src/key_check.hpp"
#include "src/mailbox.hpp"
#include "src/not_found.hpp"
#include "src/privilege.hpp"
#include "src/projection.hpp"
#include "src/sealed.hpp"
#include "src/served_database.hpp"
#include "src/shared.hpp"
#include "src/spi_util.hpp"
#include "src/sql_args.hpp"
#include "src/state_store.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/timestamp.h"
}

namespace {

using spawn::OptionalJsonb;
using spawn::RequiredText;

}  // namespace

// spawn.schedule(actor, action, cron_expression, payload, system) RETURNS bigint
SPAWN_FUNCTION(spawn_schedule) {
  const char *actor = RequiredText(fcinfo, 0, "actor");
  const char *action = RequiredText(fcinfo, 1, "action");
  const char *cron = RequiredText(fcinfo, 2, "cron_expression");
  Jsonb *payload = OptionalJsonb(fcinfo, 3);
  const char *system = RequiredText(fcinfo, 4, "system");
  spawn::RequireSchedulerDatabase("A schedule");
  spawn::InvokeRequest names{system, actor, action, nullptr, nullptr, nullptr};
  spawn::CheckRequestNames(&names);
  const int64 now_s = static_cast<int64>(time(nullptr));
  const int64 next = spawn::cron::NextAfter(cron, now_s);
  if (next < 0)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("cron expression \"%s\" never fires", cron),
                    errdetail("No time in the next five years matches it.")));
  spawn::RequireKeysForMessages();
  int64 id = 0;
  spawn::RunInSpi([&](spawn::Catalog *cat) {
    spawn::ValidateTarget(cat, system, actor, action, nullptr);
    Oid sequence = DatumGetObjectId(
        DirectFunctionCall1(regclassin, CStringGetDatum("spawn._schedules_id_seq")));
    spawn::SavedUser saved;
    spawn::BecomeOwner(cat->owner, &saved);
    id = DatumGetInt64(DirectFunctionCall1(nextval_oid, ObjectIdGetDatum(sequence)));
    spawn::RestoreUser(&saved);
    Oid types[10] = {INT8OID, TEXTOID,  TEXTOID,  TEXTOID, TEXTOID,
                     INT8OID, BYTEAOID, BYTEAOID, INT8OID, OIDOID};
    Datum values[10] = {Int64GetDatum(id),
                        CStringGetTextDatum(system),
                        CStringGetTextDatum(actor),
                        CStringGetTextDatum(action),
                        CStringGetTextDatum(cron),
                        0,
                        0,
                        0,
                        Int64GetDatum(next),
                        ObjectIdGetDatum(GetUserId())};
    char nulls[10] = {' ', ' ', ' ', ' ', ' ', 'n', 'n', 'n', ' ', ' '};
    if (payload != nullptr) {
      spawn::SealedValue sealed =
          spawn::SealJsonb(spawn::MakeBinding("schedule", system, actor, id), payload);
      values[5] = Int64GetDatum(sealed.key_id);
      values[6] = PointerGetDatum(sealed.nonce);
      values[7] = PointerGetDatum(sealed.ciphertext);
      nulls[5] = nulls[6] = nulls[7] = ' ';
    }
    spawn::ExecuteAsOwner(
        cat,
        "INSERT INTO spawn._schedules (id, system, actor, action, cron, key_id, nonce, "
        "payload, next_fire_at, run_as) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, to_timestamp($9), $10)",
        10, types, values, nulls, false);
    spawn::WakeLauncherAtCommit();
  });
  PG_RETURN_INT64(id);
}

// spawn.state_history(actor, system) -> (revision, recorded_at, state)
SPAWN_FUNCTION(spawn_state_history) {
  const char *actor = RequiredText(fcinfo, 0, "actor");
  const char *system = RequiredText(fcinfo, 1, "system");
  spawn::InvokeRequest names{system, actor, "get", nullptr, nullptr, nullptr};
  spawn::CheckRequestNames(&names);
  ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
  InitMaterializedSRF(fcinfo, 0);
  spawn::RunInSpi([&](spawn::Catalog *cat) {
    spawn::InstanceRow row;
    if (!spawn::StateFetch(cat, system, actor, &row)) spawn::RaiseActorNotFound(system, actor);
    spawn::RequireInstancePrivilege(&row, spawn::kPrivilegeRead);
    Oid types[2] = {TEXTOID, TEXTOID};
    Datum args[2] = {CStringGetTextDatum(system), CStringGetTextDatum(actor)};
    // The replaced revisions' snapshots and, when the current revision is snapshotted, the
    // instance row itself, read with one snapshot: a write that replaces it commits its copy
    // into history together with the new revision, so each snapshot shows exactly once.
    spawn::ExecuteAsOwner(
        cat,
        "SELECT revision, recorded_at, key_id, nonce, ciphertext FROM spawn._history "
        "WHERE system = $1 AND actor = $2 "
        "UNION ALL SELECT revision, snapshot_at, key_id, nonce, ciphertext FROM spawn._instances "
        "WHERE system = $1 AND name = $2 AND snapshot_revision = revision "
        "AND ciphertext IS NOT NULL ORDER BY revision",
        2, types, args, nullptr, true);
    for (uint64 i = 0; i < SPI_processed; ++i) {
      HeapTuple tuple = SPI_tuptable->vals[i];
      TupleDesc desc = SPI_tuptable->tupdesc;
      bool isnull;
      const int64 revision = DatumGetInt64(SPI_getbinval(tuple, desc, 1, &isnull));
      spawn::SealedValue sealed{DatumGetInt64(SPI_getbinval(tuple, desc, 3, &isnull)),
                                DatumGetByteaPP(SPI_getbinval(tuple, desc, 4, &isnull)),
                                DatumGetByteaPP(SPI_getbinval(tuple, desc, 5, &isnull))};
      Jsonb *state = spawn::HistoryOpen(system, actor, revision, sealed);
      Datum values[3] = {Int64GetDatum(revision), SPI_getbinval(tuple, desc, 2, &isnull),
                         PointerGetDatum(state)};
      bool nulls[3] = {false, false, false};
      tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    }
  });
  return static_cast<Datum>(0);
}

// spawn.restore(actor, revision, system) RETURNS jsonb: the snapshot becomes the next revision.
SPAWN_FUNCTION(spawn_restore) {
  const char *actor = RequiredText(fcinfo, 0, "actor");
  if (PG_ARGISNULL(1))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("revision must not be null")));
  const int64 revision = PG_GETARG_INT64(1);
  const char *system = RequiredText(fcinfo, 2, "system");
  spawn::InvokeRequest names{system, actor, "get", nullptr, nullptr, nullptr};
  spawn::CheckRequestNames(&names);
  return spawn::ReturnFromSpi(fcinfo, [&](spawn::Catalog *cat) {
    spawn::ActorLockAcquire(system, actor, true);
    spawn::InstanceRow row;
    if (spawn::StateFetchForWrite(cat, system, actor, true, &row) == spawn::FetchOutcome::kMissing)
      spawn::RaiseActorNotFound(system, actor);
    spawn::RequireInstancePrivilege(&row, spawn::kPrivilegeAdmin);
    Jsonb *state;
    if (!spawn::HistoryLoad(cat, &row, revision, &state)) {
      Oid types[3] = {TEXTOID, TEXTOID, INT8OID};
      Datum args[3] = {CStringGetTextDatum(system), CStringGetTextDatum(actor),
                       Int64GetDatum(spawn::StateIsSnapshot(&row) ? row.revision : 0)};
      spawn::ExecuteAsOwner(cat,
                            "SELECT string_agg(revision::text, ', ' ORDER BY revision) FROM "
                            "(SELECT revision FROM spawn._history WHERE system = $1 AND actor = $2 "
                            " UNION ALL SELECT $3 WHERE $3 > 0) r",
                            3, types, args, nullptr, true);
      const char *available = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
      ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                      errmsg("revision %lld of actor \"%s\" does not exist",
                             static_cast<long long>(revision), actor),
                      available ? errdetail("Snapshotted revisions: %s.", available)
                                : errdetail("The actor has no snapshots yet."),
                      errhint("spawn.state_history lists the revisions that can be restored.")));
    }
    spawn::StateWrite(cat, &row, state);
    const spawn::Definition *def = spawn::CatalogFindById(row.definition_id);
    if (def != nullptr && def->journal) spawn::JournalRestore(cat, &row, revision, state);
    if (def != nullptr) spawn::ProjectStateChange(cat, def, system, actor, row.revision + 1, state);
    PG_RETURN_JSONB_P(state);
  });
}
