// SQL entry points of the event journal: spawn.journal and spawn.replay.
#include "src/guard.hpp"
#include "src/journal.hpp"
#include "src/not_found.hpp"
#include "src/privilege.hpp"
#include "src/replay.hpp"
#include "src/spi_util.hpp"
#include "src/sql_args.hpp"
#include "src/state_store.hpp"

extern "C" {
#include "access/htup_details.h"
#include "funcapi.h"
}

namespace {

// Puts a jsonb or SQL NULL into a result column.
void SetJsonb(Datum *value, bool *isnull, Jsonb *jsonb) {
  *isnull = jsonb == nullptr;
  *value = jsonb ? PointerGetDatum(jsonb) : static_cast<Datum>(0);
}

}  // namespace

// spawn.journal(actor, system, from_revision) -> (revision, action, payload, response,
// metadata, restored_from, recorded_at)
SPAWN_FUNCTION(spawn_journal) {
  const char *actor, *system;
  spawn::RequiredActorAndSystem(fcinfo, 0, 1, &actor, &system);
  const int64 from = PG_ARGISNULL(2) ? 1 : PG_GETARG_INT64(2);
  ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
  InitMaterializedSRF(fcinfo, 0);
  spawn::RunInSpi([&](spawn::Catalog *cat) {
    spawn::InstanceRow row;
    if (!spawn::StateFetch(cat, system, actor, &row)) spawn::RaiseActorNotFound(system, actor);
    const spawn::Definition *def = spawn::RequireInstancePrivilege(&row, spawn::kPrivilegeRead);
    spawn::JournalEntry *entries;
    const int count = spawn::JournalRead(cat, system, actor, from, PG_INT64_MAX, &entries);
    if (count == 0 && !def->journal) spawn::RaiseNoJournal(actor);
    for (int i = 0; i < count; ++i) {
      const spawn::JournalEntry *e = &entries[i];
      Datum values[7];
      bool nulls[7] = {};
      values[0] = Int64GetDatum(e->revision);
      nulls[1] = e->action == nullptr;
      values[1] = e->action ? CStringGetTextDatum(e->action) : static_cast<Datum>(0);
      SetJsonb(&values[2], &nulls[2], e->payload);
      SetJsonb(&values[3], &nulls[3], e->response);
      SetJsonb(&values[4], &nulls[4], e->metadata);
      nulls[5] = e->action != nullptr;
      values[5] = Int64GetDatum(e->restored_from);
      values[6] = TimestampTzGetDatum(e->recorded_at);
      tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    }
  });
  return static_cast<Datum>(0);
}

// spawn.replay(actor, to_revision, system) -> (revision, state, matches, first_mismatch,
// from_snapshot, replayed)
SPAWN_FUNCTION(spawn_replay) {
  const char *actor, *system;
  spawn::RequiredActorAndSystem(fcinfo, 0, 2, &actor, &system);
  if (!PG_ARGISNULL(1) && PG_GETARG_INT64(1) < 0)
    ereport(ERROR,
            (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("to_revision must not be negative")));
  const int64 to_revision = PG_ARGISNULL(1) ? -1 : PG_GETARG_INT64(1);
  TupleDesc desc;
  if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
    elog(ERROR, "spawn: replay must return a record");
  return spawn::ReturnFromSpi(fcinfo, [&](spawn::Catalog *cat) {
    spawn::ReplayResult result;
    spawn::Replay(cat, system, actor, to_revision, &result);
    Datum values[6] = {
        Int64GetDatum(result.revision),          PointerGetDatum(result.state),
        BoolGetDatum(result.first_mismatch < 0), Int64GetDatum(result.first_mismatch),
        Int64GetDatum(result.from_snapshot),     Int32GetDatum(result.replayed)};
    bool nulls[6] = {false, false, false, result.first_mismatch < 0, false, false};
    return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls));
  });
}
