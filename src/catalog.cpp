// Cache life cycle: `stale` is set by invalidation callbacks (which must not touch catalogs);
// each use (CatalogHold) rebuilds it when stale. A rebuild while an invocation is running (a
// handler that registers an actor) moves the old memory aside instead of freeing it, because
// frames below still point into it; the old memory is freed when the outermost use ends or the
// transaction aborts.
#include "src/catalog.hpp"

#include <cstring>

#include "src/pg.hpp"
#include "src/spi_util.hpp"

extern "C" {
#include "access/xact.h"
#include "utils/hsearch.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
}

namespace spawn {

namespace {

// Key of the by-name index: system, a unit separator, and name.
constexpr int kNameKeyBytes = 2 * NAMEDATALEN + 2;

struct ByIdEntry {
  int32 id;
  Definition definition;
};

struct ByNameEntry {
  char key[kNameKeyBytes];
  Definition *definition;
};

MemoryContext cache_context = nullptr;    // holds the current catalog and definitions
MemoryContext retired_context = nullptr;  // old caches still referenced by running frames
Catalog *catalog = nullptr;
HTAB *by_id = nullptr;
HTAB *by_name = nullptr;
Oid definitions_relid = InvalidOid;
bool stale = true;
bool callbacks_registered = false;
int use_depth = 0;
List *cache_plans = NIL;    // SQL handler plans of the current cache (cells in cache_context)
List *retired_plans = NIL;  // plans of retired caches (cells in TopMemoryContext)

// Marks the cache stale when spawn._definitions is invalidated.
void OnRelcacheInvalidation(Datum, Oid relid) {
  if (relid == InvalidOid || relid == definitions_relid) stale = true;
}

// Marks the cache stale when any function changes: a handler may have been replaced.
void OnProcInvalidation(Datum, int, uint32) {
  stale = true;
}

// Resets the use count when a transaction ends (an error caught in a subtransaction may have
// skipped a release).
void OnTransactionEnd(XactEvent event, void *) {
  if (event == XACT_EVENT_ABORT || event == XACT_EVENT_COMMIT ||
      event == XACT_EVENT_PARALLEL_ABORT || event == XACT_EVENT_PREPARE)
    use_depth = 0;
}

// Frees caches retired while they were in use; only called when none is in use.
void FreeRetired() {
  ListCell *cell;
  foreach (cell, retired_plans) SPI_freeplan(static_cast<SPIPlanPtr>(lfirst(cell)));
  list_free(retired_plans);
  retired_plans = NIL;
  if (retired_context != nullptr) MemoryContextReset(retired_context);
}

// Builds the by-name key.
void NameKey(const char *system, const char *name, char *key) {
  snprintf(key, kNameKeyBytes, "%s\x1f%s", system, name);
}

// Looks up the extension's objects (as the calling user: catalogs are public).
void LoadExtensionObjects(Catalog *cat) {
  const char *sql =
      "SELECT 'spawn._definitions'::regclass::oid, c.relowner, "
      "'spawn.context'::regtype::oid, c.oid, "
      "'spawn._instances_system_name_key'::regclass::oid, "
      "'spawn._mailbox_id_seq'::regclass::oid, 'spawn._mailbox'::regclass::oid, "
      "'spawn._mailbox_requests'::regclass::oid, 'spawn._replies'::regclass::oid, "
      "'spawn._replies_pkey'::regclass::oid "
      "FROM pg_catalog.pg_class c WHERE c.oid = 'spawn._instances'::regclass";
  const int level = PinInternalSearchPath();
  if (SPI_execute(sql, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
    elog(ERROR, "spawn: extension objects are missing");
  AtEOXact_GUC(true, level);
  bool isnull;
  HeapTuple row = SPI_tuptable->vals[0];
  TupleDesc desc = SPI_tuptable->tupdesc;
  definitions_relid = DatumGetObjectId(SPI_getbinval(row, desc, 1, &isnull));
  cat->owner = DatumGetObjectId(SPI_getbinval(row, desc, 2, &isnull));
  cat->context_type = DatumGetObjectId(SPI_getbinval(row, desc, 3, &isnull));
  cat->instances_relid = DatumGetObjectId(SPI_getbinval(row, desc, 4, &isnull));
  cat->instances_name_index = DatumGetObjectId(SPI_getbinval(row, desc, 5, &isnull));
  cat->mailbox_sequence = DatumGetObjectId(SPI_getbinval(row, desc, 6, &isnull));
  cat->mailbox_relid = DatumGetObjectId(SPI_getbinval(row, desc, 7, &isnull));
  cat->mailbox_requests = DatumGetObjectId(SPI_getbinval(row, desc, 8, &isnull));
  cat->replies_relid = DatumGetObjectId(SPI_getbinval(row, desc, 9, &isnull));
  cat->replies_pkey = DatumGetObjectId(SPI_getbinval(row, desc, 10, &isnull));
  MemoryContext old = MemoryContextSwitchTo(cache_context);
  cat->context_desc = lookup_rowtype_tupdesc_copy(cat->context_type, -1);
  MemoryContextSwitchTo(old);
}

// Grows an array kept in the cache by one zeroed element and returns it.
template <typename T>
T *AppendZeroed(T **array, int *count) {
  *array = static_cast<T *>(*count == 0 ? MemoryContextAlloc(cache_context, sizeof(T))
                                        : repalloc(*array, sizeof(T) * (*count + 1)));
  T *added = &(*array)[(*count)++];
  memset(added, 0, sizeof *added);
  return added;
}

// Loads every external host (before the definitions that refer to them).
void LoadHosts(Catalog *cat) {
  const char *sql = "SELECT id, name, url, options FROM spawn._hosts ORDER BY id";
  ExecuteAsOwner(cat, sql, 0, nullptr, nullptr, nullptr, true);
  cat->host_count = static_cast<int>(SPI_processed);
  cat->hosts = static_cast<HostConfig *>(
      MemoryContextAllocZero(cache_context, sizeof(HostConfig) * Max(cat->host_count, 1)));
  for (int i = 0; i < cat->host_count; ++i) {
    HeapTuple row = SPI_tuptable->vals[i];
    TupleDesc desc = SPI_tuptable->tupdesc;
    bool isnull;
    HostConfig *host = &cat->hosts[i];
    ParseHostConfig(SPI_getvalue(row, desc, 3),
                    DatumGetJsonbP(SPI_getbinval(row, desc, 4, &isnull)), cache_context, host);
    host->id = DatumGetInt32(SPI_getbinval(row, desc, 1, &isnull));
    strlcpy(host->name, SPI_getvalue(row, desc, 2), NAMEDATALEN);
  }
}

// The loaded host with this id (the column at `column`), or NULL when the column is NULL.
const HostConfig *HostOfColumn(const Catalog *cat, TupleDesc desc, HeapTuple row, int column) {
  bool isnull;
  const int32 id = DatumGetInt32(SPI_getbinval(row, desc, column, &isnull));
  if (isnull) return nullptr;
  for (int i = 0; i < cat->host_count; ++i)
    if (cat->hosts[i].id == id) return &cat->hosts[i];
  elog(ERROR, "spawn: actor host %d is missing from the catalog", id);
}

// Adds one handler row to its definition.
void AddHandler(const Catalog *cat, Definition *def, TupleDesc desc, HeapTuple row) {
  bool isnull;
  SPI_getbinval(row, desc, 7, &isnull);
  if (isnull) return;  // a definition without actions
  Handler *h = AppendZeroed(&def->handlers, &def->handler_count);
  strlcpy(h->action, SPI_getvalue(row, desc, 7), NAMEDATALEN);
  strlcpy(h->function_name, SPI_getvalue(row, desc, 11), sizeof h->function_name);
  h->takes_context = DatumGetBool(SPI_getbinval(row, desc, 9, &isnull));
  h->returns_jsonb = DatumGetBool(SPI_getbinval(row, desc, 10, &isnull));
  h->host = HostOfColumn(cat, desc, row, 17);
  Datum fn = SPI_getbinval(row, desc, 8, &isnull);
  h->call.function = isnull ? InvalidOid : DatumGetObjectId(fn);
}

// Loads every definition with its handlers into the hash tables.
void LoadDefinitions(const Catalog *cat) {
  const char *sql =
      "SELECT d.id, d.system, d.name, d.kind, d.stateful, d.tags, h.action, h.function::oid, "
      "h.takes_context, h.returns_jsonb, h.signature, d.timers <> '[]'::jsonb, d.journal, "
      "d.registered_by::oid, s.owner::oid, d.host_id, h.host_id "
      "FROM spawn._definitions d JOIN spawn.systems s ON s.name = d.system "
      "LEFT JOIN spawn._handlers h ON h.definition_id = d.id "
      "ORDER BY d.id, h.action";
  ExecuteAsOwner(cat, sql, 0, nullptr, nullptr, nullptr, true);
  // Everything kept is allocated in cache_context explicitly.
  SPITupleTable *rows = SPI_tuptable;
  const uint64 row_count = SPI_processed;
  TupleDesc desc = rows->tupdesc;
  for (uint64 i = 0; i < row_count; ++i) {
    HeapTuple row = rows->vals[i];
    bool isnull, found;
    int32 id = DatumGetInt32(SPI_getbinval(row, desc, 1, &isnull));
    auto *entry = static_cast<ByIdEntry *>(hash_search(by_id, &id, HASH_ENTER, &found));
    Definition *def = &entry->definition;
    if (!found) {
      memset(def, 0, sizeof *def);
      def->id = id;
      strlcpy(def->system, SPI_getvalue(row, desc, 2), NAMEDATALEN);
      strlcpy(def->name, SPI_getvalue(row, desc, 3), NAMEDATALEN);
      def->kind = static_cast<ActorKind>(SPI_getvalue(row, desc, 4)[0]);
      def->stateful = DatumGetBool(SPI_getbinval(row, desc, 5, &isnull));
      def->has_timers = DatumGetBool(SPI_getbinval(row, desc, 12, &isnull));
      def->journal = DatumGetBool(SPI_getbinval(row, desc, 13, &isnull));
      def->owner = DatumGetObjectId(SPI_getbinval(row, desc, 14, &isnull));
      def->system_owner = DatumGetObjectId(SPI_getbinval(row, desc, 15, &isnull));
      Jsonb *tags = DatumGetJsonbP(SPI_getbinval(row, desc, 6, &isnull));
      def->tags = static_cast<Jsonb *>(MemoryContextAlloc(cache_context, VARSIZE(tags)));
      memcpy(def->tags, tags, VARSIZE(tags));
      def->host_default.host = HostOfColumn(cat, desc, row, 16);
      if (def->host_default.host != nullptr)
        snprintf(def->host_default.function_name, sizeof def->host_default.function_name, "host:%s",
                 def->host_default.host->name);
      char key[kNameKeyBytes];
      NameKey(def->system, def->name, key);
      auto *named = static_cast<ByNameEntry *>(hash_search(by_name, key, HASH_ENTER, &found));
      named->definition = def;
    }
    AddHandler(cat, def, desc, row);
  }
}

// Adds one projection row to the definition it follows.
void AddProjection(TupleDesc desc, HeapTuple row) {
  bool isnull;
  int32 definition_id = DatumGetInt32(SPI_getbinval(row, desc, 1, &isnull));
  auto *entry = static_cast<ByIdEntry *>(hash_search(by_id, &definition_id, HASH_FIND, nullptr));
  if (entry == nullptr) return;  // registered after the definitions were read
  Definition *def = &entry->definition;
  Projection *p = AppendZeroed(&def->projections, &def->projection_count);
  p->id = DatumGetInt32(SPI_getbinval(row, desc, 2, &isnull));
  strlcpy(p->name, SPI_getvalue(row, desc, 3), NAMEDATALEN);
  p->strict = DatumGetBool(SPI_getbinval(row, desc, 4, &isnull));
  strlcpy(p->handler_name, SPI_getvalue(row, desc, 6), sizeof p->handler_name);
  p->owner = DatumGetObjectId(SPI_getbinval(row, desc, 7, &isnull));
  p->call.function = DatumGetObjectId(SPI_getbinval(row, desc, 5, &isnull));
}

// Loads the projections of every definition.
void LoadProjections(const Catalog *cat) {
  const char *sql =
      "SELECT s.definition_id, p.id, p.name, p.mode = 'strict', p.handler::oid, p.signature, "
      "p.owner FROM spawn._projection_sources s "
      "JOIN spawn._projections p ON p.id = s.projection_id ORDER BY s.definition_id, p.id";
  ExecuteAsOwner(cat, sql, 0, nullptr, nullptr, nullptr, true);
  SPITupleTable *rows = SPI_tuptable;
  const uint64 row_count = SPI_processed;
  for (uint64 i = 0; i < row_count; ++i) AddProjection(rows->tupdesc, rows->vals[i]);
}

// Adds one grant row (of the definition, or of its whole system) to its definition.
void AddGrant(TupleDesc desc, HeapTuple row) {
  bool isnull;
  int32 definition_id = DatumGetInt32(SPI_getbinval(row, desc, 1, &isnull));
  auto *entry = static_cast<ByIdEntry *>(hash_search(by_id, &definition_id, HASH_FIND, nullptr));
  if (entry == nullptr) return;  // registered after the definitions were read
  ActorGrant *g = AppendZeroed(&entry->definition.grants, &entry->definition.grant_count);
  g->grantee = DatumGetObjectId(SPI_getbinval(row, desc, 2, &isnull));
  g->privileges = DatumGetInt32(SPI_getbinval(row, desc, 3, &isnull));
}

// Loads the grants that apply to each definition.
void LoadGrants(const Catalog *cat) {
  const char *sql =
      "SELECT d.id, g.grantee::oid, "
      "1 << (array_position(ARRAY['invoke', 'read', 'spawn', 'admin'], g.privilege) - 1) "
      "FROM spawn._grants g "
      "JOIN spawn._definitions d ON d.system = g.system AND (g.actor IS NULL OR g.actor = d.name) "
      "ORDER BY d.id";
  ExecuteAsOwner(cat, sql, 0, nullptr, nullptr, nullptr, true);
  for (uint64 i = 0; i < SPI_processed; ++i) AddGrant(SPI_tuptable->tupdesc, SPI_tuptable->vals[i]);
}

// Creates empty hash tables in the cache context.
void CreateTables() {
  HASHCTL ctl;
  memset(&ctl, 0, sizeof ctl);
  ctl.keysize = sizeof(int32);
  ctl.entrysize = sizeof(ByIdEntry);
  ctl.hcxt = cache_context;
  by_id = hash_create("spawn definitions by id", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
  ctl.keysize = kNameKeyBytes;
  ctl.entrysize = sizeof(ByNameEntry);
  by_name =
      hash_create("spawn definitions by name", 64, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

// Throws away the current cache (or retires it while in use) and builds a new one.
void Rebuild() {
  if (!callbacks_registered) {
    CacheRegisterRelcacheCallback(OnRelcacheInvalidation, 0);
    CacheRegisterSyscacheCallback(PROCOID, OnProcInvalidation, 0);
    RegisterXactCallback(OnTransactionEnd, nullptr);
    retired_context =
        AllocSetContextCreate(TopMemoryContext, "spawn retired catalogs", ALLOCSET_SMALL_SIZES);
    callbacks_registered = true;
  }
  if (cache_context != nullptr) {
    ListCell *cell;
    MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
    foreach (cell, cache_plans) retired_plans = lappend(retired_plans, lfirst(cell));
    MemoryContextSwitchTo(old);
    MemoryContextSetParent(cache_context, retired_context);
  }
  cache_plans = NIL;
  catalog = nullptr;
  stale = false;  // invalidations arriving while loading mark it stale again
  cache_context = AllocSetContextCreate(TopMemoryContext, "spawn catalog", ALLOCSET_DEFAULT_SIZES);
  CreateTables();
  auto *cat = static_cast<Catalog *>(MemoryContextAllocZero(cache_context, sizeof(Catalog)));
  MemoryContext old = MemoryContextSwitchTo(cache_context);
  LoadExtensionObjects(cat);
  MemoryContextSwitchTo(old);
  LoadHosts(cat);
  LoadDefinitions(cat);
  LoadProjections(cat);
  LoadGrants(cat);
  catalog = cat;
}

// Begins one use of the catalog, rebuilt when stale.
Catalog *CatalogAcquire() {
  if (use_depth == 0) FreeRetired();
  if (stale || catalog == nullptr) Rebuild();
  ++use_depth;
  return catalog;
}

// Ends one use.
void CatalogRelease() {
  if (use_depth > 0) --use_depth;
}

}  // namespace

// Acquires, runs, and releases in a PG_FINALLY.
void CatalogHold(void (*fn)(Catalog *, void *), void *arg) {
  Catalog *held = CatalogAcquire();
  PG_TRY();
  { fn(held, arg); }
  PG_FINALLY();
  { CatalogRelease(); }
  PG_END_TRY();
}

// Finds a definition by id, reloading once when it is missing (registered meanwhile).
const Definition *CatalogFindById(int32 id) {
  auto *entry = static_cast<ByIdEntry *>(hash_search(by_id, &id, HASH_FIND, nullptr));
  if (entry == nullptr) {
    Rebuild();
    entry = static_cast<ByIdEntry *>(hash_search(by_id, &id, HASH_FIND, nullptr));
  }
  return entry ? &entry->definition : nullptr;
}

// Finds a definition by name.
const Definition *CatalogFindByName(const char *system, const char *name) {
  char key[kNameKeyBytes];
  NameKey(system, name, key);
  auto *entry = static_cast<ByNameEntry *>(hash_search(by_name, key, HASH_FIND, nullptr));
  return entry ? entry->definition : nullptr;
}

// Linear search: definitions have a handful of projections.
const Projection *DefinitionFindProjection(const Definition *definition, const char *name) {
  for (int i = 0; i < definition->projection_count; ++i)
    if (strcmp(definition->projections[i].name, name) == 0) return &definition->projections[i];
  return nullptr;
}

// Linear search: definitions have a handful of actions.
const Handler *DefinitionFindHandler(const Definition *definition, const char *action) {
  for (int i = 0; i < definition->handler_count; ++i)
    if (strcmp(definition->handlers[i].action, action) == 0) return &definition->handlers[i];
  return nullptr;
}

// Listed actions first; a host bound to the whole actor serves the rest (not the built-in reads).
const Handler *DefinitionActionHandler(const Definition *definition, const char *action) {
  const Handler *listed = DefinitionFindHandler(definition, action);
  if (listed != nullptr || definition->host_default.host == nullptr) return listed;
  if (strcmp(action, "get") == 0 || strcmp(action, "get_state") == 0) return nullptr;
  return &definition->host_default;
}

// Fills in the FmgrInfo and, for LANGUAGE sql, the prepared body, in the cache's memory.
void CachedFunctionResolve(const CachedFunction *cached, bool result_ignored) {
  if (cached->resolved) return;
  auto *entry = const_cast<CachedFunction *>(cached);  // the cache owns it
  fmgr_info_cxt(entry->function, &entry->flinfo, cache_context);
  SqlHandlerPlan sql{};
  if (PrepareSqlHandler(entry->function, cache_context, &sql, result_ignored)) {
    MemoryContext old = MemoryContextSwitchTo(cache_context);
    cache_plans = lappend(cache_plans, sql.plan);
    MemoryContextSwitchTo(old);
    entry->sql = sql;
  }
  entry->resolved = true;
}

}  // namespace spawn
