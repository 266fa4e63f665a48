// Order matters for consistency: a strict projection writes the read model while the actor's
// lock is held, so its rows follow the actor's revisions. ProjectAll takes a SHARE ROW EXCLUSIVE
// lock on the read model before it reads any state: a strict writer that got there first has
// committed (its state is read), and one that comes later waits and writes after it.
#include "src/projection.hpp"

#include "src/identity.hpp"

#include "src/mailbox.hpp"
#include "src/sealed.hpp"
#include "src/spi_util.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

namespace spawn {

namespace {

// A projection's row as ProjectAll needs it.
struct ProjectionRow {
  const char *system;
  const char *read_model;  // the table's schema-qualified name, quoted as needed
  Projection projection;
};

// Raises the error of a projection whose handler function was dropped.
[[noreturn]] void RaiseHandlerDropped(const Projection *p) {
  ereport(ERROR,
          (errcode(ERRCODE_UNDEFINED_FUNCTION),
           errmsg("handler %s of projection \"%s\" no longer exists", p->handler_name, p->name),
           errhint("Drop the projection with spawn.drop_projection, or create the "
                   "function again and recreate the projection.")));
}

// Reads a projection by id and resolves its handler.
ProjectionRow FetchProjection(const Catalog *cat, int32 id) {
  Oid types[1] = {INT4OID};
  Datum values[1] = {Int32GetDatum(id)};
  ExecuteAsOwner(
      cat,
      "SELECT p.system, p.name, quote_ident(n.nspname) || '.' || quote_ident(c.relname), "
      "p.handler::oid, p.signature, p.owner FROM spawn._projections p "
      "LEFT JOIN pg_catalog.pg_class c ON c.oid = p.read_model "
      "LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE p.id = $1",
      1, types, values, nullptr, true);
  if (SPI_processed != 1)
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT), errmsg("projection %d does not exist", id),
                    errhint("See spawn.projections.")));
  HeapTuple row = SPI_tuptable->vals[0];
  TupleDesc desc = SPI_tuptable->tupdesc;
  bool isnull;
  ProjectionRow out{};
  out.system = SPI_getvalue(row, desc, 1);
  out.read_model = SPI_getvalue(row, desc, 3);
  Projection *p = &out.projection;
  p->id = id;
  strlcpy(p->name, SPI_getvalue(row, desc, 2), NAMEDATALEN);
  if (out.read_model == nullptr)
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                    errmsg("the read model of projection \"%s\" no longer exists", p->name),
                    errhint("Drop the projection with spawn.drop_projection and create it "
                            "again with a new table.")));
  strlcpy(p->handler_name, SPI_getvalue(row, desc, 5), sizeof p->handler_name);
  p->owner = DatumGetObjectId(SPI_getbinval(row, desc, 6, &isnull));
  const Oid handler = DatumGetObjectId(SPI_getbinval(row, desc, 4, &isnull));
  if (!OidIsValid(get_func_namespace(handler))) RaiseHandlerDropped(p);
  p->call.function = handler;
  fmgr_info(handler, &p->call.flinfo);
  p->call.resolved = true;  // called through fmgr: ProjectAll calls it once per instance
  return out;
}

// Runs one statement on the read model as the projection's owner.
void ExecuteOnReadModel(const ProjectionRow *row, const char *sql_format) {
  SavedUser saved;
  BecomeRole(row->projection.owner, &saved);
  if (SPI_execute(psprintf(sql_format, row->read_model), false, 0) < 0)
    elog(ERROR, "spawn: could not update read model %s", row->read_model);
  RestoreUser(&saved);
}

// One call of a projection's handler.
struct ProjectionInvocation {
  const Projection *projection;
  const char *actor;
  const Jsonb *state;
  int64 revision;
};

// Calls a projection's handler; its result is ignored.
void RunProjectionHandler(void *arg) {
  const auto *call = static_cast<const ProjectionInvocation *>(arg);
  const Projection *p = call->projection;
  if (pg_proc_aclcheck(p->call.function, p->owner, ACL_EXECUTE) != ACLCHECK_OK)
    aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_FUNCTION, p->handler_name);
  CachedFunctionResolve(&p->call, true);
  Datum args[3] = {CStringGetTextDatum(call->actor), PointerGetDatum(call->state),
                   Int64GetDatum(call->revision)};
  bool nulls[3] = {false, false, false};
  if (p->call.sql.plan != nullptr) {
    Oid types[3] = {TEXTOID, JSONBOID, INT8OID};
    ExecuteSqlStatement(&p->call.sql, 3, args, nulls, types);
    return;
  }
  LOCAL_FCINFO(fcinfo, 3);
  InitFunctionCallInfoData(*fcinfo, const_cast<FmgrInfo *>(&p->call.flinfo), 3, InvalidOid, nullptr,
                           nullptr);
  for (int i = 0; i < 3; ++i) {
    fcinfo->args[i].value = args[i];
    fcinfo->args[i].isnull = nulls[i];
  }
  FunctionCallInvoke(fcinfo);
}

}  // namespace

// Runs the handler as the projection's owner, with the owner's fixed search_path.
void ProjectionCall(const Projection *p, const char *actor, const Jsonb *state, int64 revision) {
  if (!SearchSysCacheExists1(PROCOID, ObjectIdGetDatum(p->call.function))) RaiseHandlerDropped(p);
  ProjectionInvocation call{p, actor, state, revision};
  RunAsOwner(p->owner, RunProjectionHandler, &call);
}

// Strict ones now; async ones as one mailbox message each, behind the actor's other messages.
void ProjectStateChange(const Catalog *cat, const Definition *def, const char *system,
                        const char *actor, int64 revision, const Jsonb *state) {
  for (int i = 0; i < def->projection_count; ++i) {
    const Projection *p = &def->projections[i];
    if (p->strict) {
      ProjectionCall(p, actor, state, revision);
      continue;
    }
    Message m{};
    m.system = system;
    m.actor = actor;
    m.action = p->name;
    m.source = "projection";
    m.deliver_at = GetCurrentTimestamp();
    m.run_as = p->owner;
    Enqueue(cat, &m);
  }
}

// Lock, optionally empty, then a cursor over the followed instances in name order.
int64 ProjectAll(const Catalog *cat, int32 projection_id, bool clear) {
  ProjectionRow projection = FetchProjection(cat, projection_id);
  if (!has_privs_of_role(GetUserId(), projection.projection.owner))
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("permission denied for projection \"%s\"", projection.projection.name),
                    errhint("Only the role that created it can populate or rebuild it.")));
  ExecuteOnReadModel(&projection, "LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE");
  if (clear) ExecuteOnReadModel(&projection, "DELETE FROM %s");
  Oid types[1] = {INT4OID};
  Datum values[1] = {Int32GetDatum(projection_id)};
  SavedUser saved;
  BecomeOwner(cat->owner, &saved);
  Portal portal = SPI_cursor_open_with_args(
      nullptr,
      "SELECT i.name, i.revision, i.key_id, i.nonce, i.ciphertext FROM spawn._instances i "
      "JOIN spawn._projection_sources s ON s.definition_id = i.definition_id "
      "WHERE s.projection_id = $1 AND i.ciphertext IS NOT NULL ORDER BY i.name",
      1, types, values, nullptr, false, 0);
  RestoreUser(&saved);
  int64 projected = 0;
  MemoryContext per_chunk =
      AllocSetContextCreate(CurrentMemoryContext, "spawn projection chunk", ALLOCSET_DEFAULT_SIZES);
  for (;;) {
    SPI_cursor_fetch(portal, true, 1000);
    SPITupleTable *rows = SPI_tuptable;
    const uint64 count = SPI_processed;
    if (count == 0) break;
    MemoryContext old = MemoryContextSwitchTo(per_chunk);
    for (uint64 i = 0; i < count; ++i) {
      HeapTuple row = rows->vals[i];
      TupleDesc desc = rows->tupdesc;
      bool isnull;
      const char *actor = SPI_getvalue(row, desc, 1);
      const int64 revision = DatumGetInt64(SPI_getbinval(row, desc, 2, &isnull));
      SealedValue sealed{DatumGetInt64(SPI_getbinval(row, desc, 3, &isnull)),
                         DatumGetByteaPP(SPI_getbinval(row, desc, 4, &isnull)),
                         DatumGetByteaPP(SPI_getbinval(row, desc, 5, &isnull))};
      Jsonb *state = OpenJsonb(MakeBinding("state", projection.system, actor, revision), sealed,
                               psprintf("state of actor \"%s\"", actor));
      ProjectionCall(&projection.projection, actor, state, revision);
      ++projected;
    }
    MemoryContextSwitchTo(old);
    MemoryContextReset(per_chunk);
    SPI_freetuptable(rows);
  }
  SPI_cursor_close(portal);
  MemoryContextDelete(per_chunk);
  return projected;
}

}  // namespace spawn
