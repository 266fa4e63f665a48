// The replay starts from the newest snapshot strictly before the target revision (or from the
// empty state of revision 0), so a replay always re-runs at least one entry and checks it. A
// restore entry is replayed by loading the snapshot it brought back.
#include "src/replay.hpp"

#include "src/dispatch.hpp"
#include "src/history.hpp"
#include "src/journal.hpp"
#include "src/not_found.hpp"
#include "src/privilege.hpp"
#include "src/spi_util.hpp"
#include "src/state_store.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/resowner.h"
}

namespace spawn {

namespace {

// The newest snapshot revision below `revision`, or 0 when there is none.
int64 SnapshotBefore(const Catalog *cat, const char *system, const char *actor, int64 revision) {
  Oid types[3] = {TEXTOID, TEXTOID, INT8OID};
  Datum args[3] = {CStringGetTextDatum(system), CStringGetTextDatum(actor),
                   Int64GetDatum(revision)};
  ExecuteAsOwner(cat,
                 "SELECT coalesce(max(revision), 0) FROM spawn._history "
                 "WHERE system = $1 AND actor = $2 AND revision < $3",
                 3, types, args, nullptr, true);
  bool isnull;
  return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

// Raises the error for a journal that lacks entries of from..to.
[[noreturn]] void RaiseGap(const Definition *def, const char *actor, int64 from, int64 to) {
  ereport(
      ERROR,
      (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
       from == to ? errmsg("the journal of actor \"%s\" lacks revision %lld", actor,
                           static_cast<long long>(from))
                  : errmsg("the journal of actor \"%s\" lacks revisions %lld to %lld", actor,
                           static_cast<long long>(from), static_cast<long long>(to)),
       def->journal ? errdetail("A replay needs every entry after the snapshot it starts from; the "
                                "journal began later or spawn.journal_retention removed them.")
                    : errdetail("The actor is registered without a journal."),
       errhint("Register the actor with journal => true; replays cover the revisions made "
               "since then.")));
}

// Re-runs one entry on *state.
void ReplayEntry(const Catalog *cat, const Definition *def, const InstanceRow *row,
                 const JournalEntry *e, Jsonb **state) {
  const char *actor = row->name;
  if (e->action == nullptr) {
    if (!HistoryLoad(cat, row, e->restored_from, state))
      ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                      errmsg("revision %lld of actor \"%s\" restored snapshot %lld, which is no "
                             "longer in the history",
                             static_cast<long long>(e->revision), actor,
                             static_cast<long long>(e->restored_from)),
                      errhint("Replay to a revision before it, or from a later snapshot.")));
    return;
  }
  const Handler *handler = DefinitionActionHandler(def, e->action);
  if (handler == nullptr)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("actor \"%s\" no longer handles action \"%s\" of revision %lld", actor,
                           e->action, static_cast<long long>(e->revision)),
                    errhint("Register the action again to replay its entries.")));
  HandlerCall call{def,       handler,     actor,  e->action,  e->revision - 1,
                   e->caller, e->metadata, *state, e->payload, false};
  HandlerResult result{};
  CallHandler(cat, &call, &result);
  if (result.state != nullptr) *state = result.state;
}

// The replay loop; runs inside the subtransaction.
void ReplayEntries(const Catalog *cat, const Definition *def, const InstanceRow *row,
                   const JournalEntry *entries, int count, ReplayResult *out, MemoryContext keep) {
  Jsonb *state = out->state;
  for (int i = 0; i < count; ++i) {
    ReplayEntry(cat, def, row, &entries[i], &state);
    char digest[kDigestHexBytes];
    StateDigestHex(state, digest);
    if (out->first_mismatch < 0 && strcmp(digest, entries[i].digest) != 0)
      out->first_mismatch = entries[i].revision;
  }
  auto *copy = static_cast<Jsonb *>(MemoryContextAlloc(keep, VARSIZE(state)));
  memcpy(copy, state, VARSIZE(state));
  out->state = copy;
}

}  // namespace

// Validate, pick the snapshot, read the entries, re-run them in a rolled-back subtransaction.
void Replay(const Catalog *cat, const char *system, const char *actor, int64 to_revision,
            ReplayResult *out) {
  InstanceRow row;
  if (!StateFetch(cat, system, actor, &row)) RaiseActorNotFound(system, actor);
  const Definition *def = RequireInstancePrivilege(&row, kPrivilegeRead);
  if (def == nullptr) RaiseActorNotFound(system, actor);
  const int64 target = to_revision < 0 ? row.revision : to_revision;
  if (target > row.revision)
    ereport(ERROR,
            (errcode(ERRCODE_UNDEFINED_OBJECT),
             errmsg("revision %lld of actor \"%s\" does not exist", static_cast<long long>(target),
                    actor),
             errdetail("Its current revision is %lld.", static_cast<long long>(row.revision))));
  memset(out, 0, sizeof *out);
  out->revision = target;
  out->first_mismatch = -1;
  out->from_snapshot = target > 0 ? SnapshotBefore(cat, system, actor, target) : 0;
  out->state = EmptyState();
  if (out->from_snapshot > 0 && !HistoryLoad(cat, &row, out->from_snapshot, &out->state))
    elog(ERROR, "spawn: snapshot %lld vanished", static_cast<long long>(out->from_snapshot));
  JournalEntry *entries;
  const int count = JournalRead(cat, system, actor, out->from_snapshot + 1, target, &entries);
  if (count == 0 && target > 0 && !def->journal) RaiseNoJournal(actor);
  if (count != target - out->from_snapshot) {
    int64 missing = out->from_snapshot + 1;
    for (int i = 0; i < count && entries[i].revision == missing; ++i) ++missing;
    RaiseGap(def, actor, missing,
             count > 0 && entries[count - 1].revision > missing ? entries[count - 1].revision - 1
                                                                : target);
  }
  out->replayed = count;
  MemoryContext outer_context = CurrentMemoryContext;
  ResourceOwner outer_owner = CurrentResourceOwner;
  BeginInternalSubTransaction(nullptr);
  MemoryContextSwitchTo(outer_context);
  PG_TRY();
  { ReplayEntries(cat, def, &row, entries, count, out, outer_context); }
  PG_CATCH();
  {
    MemoryContextSwitchTo(outer_context);
    ErrorData *error = CopyErrorData();
    FlushErrorState();
    RollbackAndReleaseCurrentSubTransaction();
    MemoryContextSwitchTo(outer_context);
    CurrentResourceOwner = outer_owner;
    ReThrowError(error);
  }
  PG_END_TRY();
  RollbackAndReleaseCurrentSubTransaction();
  MemoryContextSwitchTo(outer_context);
  CurrentResourceOwner = outer_owner;
}

}  // namespace spawn
