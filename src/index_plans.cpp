// A per-backend cache of the index plans of the few tables spawn writes with the heap API.
// Building one (RelationGetIndexList, an index_open and BuildIndexInfo per index, compiling
// each partial index's predicate) cost a cast more than half as much as the two index
// insertions themselves (bench/cast_profile.sh); the plan changes only with the catalog, and
// every such change sends a relcache invalidation of the table (CREATE/DROP INDEX, REINDEX,
// the steps of CREATE INDEX CONCURRENTLY) or of the index, which drops the plan here; the
// caller holds the table's lock, so invalidations are processed before the plan is used.
#include "src/index_plans.hpp"

extern "C" {
#include "access/genam.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "executor/executor.h"
#include "optimizer/optimizer.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/relcache.h"
}

namespace spawn {

namespace {

constexpr int kCachedRelations = 8;

// A cached plan and the memory context that holds it.
struct CachedPlan {
  RelationIndexPlan plan;
  MemoryContext context;
  bool valid;
  bool building;  // an invalidation during the build (an index_open accepts them) marks it stale
  bool stale;
};

CachedPlan cached[kCachedRelations];
int next_victim = 0;
bool callback_registered = false;

// Drops the plans that mention `relid` (the table or one of its indexes); InvalidOid: all.
// Only marks them: a plan in use by the current call is freed at the next rebuild.
void OnRelcacheInvalidation(Datum, Oid relid) {
  for (CachedPlan &c : cached) {
    if (!c.valid && !c.building) continue;
    bool hit = relid == InvalidOid || relid == c.plan.relid;
    for (int i = 0; !hit && i < c.plan.count; ++i) hit = c.plan.indexes[i].index_oid == relid;
    if (hit) c.valid = false, c.stale = true;
  }
}

// Fills one index's plan; false when the index needs the executor's general path.
bool PlanIndex(Relation index, IndexPlan *out) {
  IndexInfo *info = BuildIndexInfo(index);
  out->index_oid = RelationGetRelid(index);
  out->info = info;
  out->predicate = nullptr;
  // Only B-trees: other access methods may keep state of one insertion in ii_AmCache (GIN,
  // BRIN), which the executor's IndexInfo, built per statement, never carries across
  // transactions as this plan would.
  if (index->rd_rel->relam != BTREE_AM_OID || info->ii_Expressions != NIL ||
      info->ii_ExclusionOps != nullptr ||
      (index->rd_index->indisunique && !index->rd_index->indimmediate))
    return false;
  if (info->ii_Predicate != NIL)
    out->predicate = ExecInitQual(
        reinterpret_cast<List *>(expression_planner(reinterpret_cast<Expr *>(info->ii_Predicate))),
        nullptr);
  return true;
}

// Builds the plan of `rel`'s indexes into `c`, in a fresh context under CacheMemoryContext.
void Build(CachedPlan *c, Relation rel) {
  if (c->context != nullptr) MemoryContextDelete(c->context);
  RelationIndexPlan *plan = &c->plan;
  // Nothing of the freed plan stays reachable: RelationGetIndexList and index_open take locks,
  // which process invalidations, and the callback reads the plan's relid and indexes.
  plan->relid = RelationGetRelid(rel);
  plan->simple = true;
  plan->count = 0;
  plan->indexes = nullptr;
  c->valid = false;
  c->building = true;
  c->stale = false;
  c->context = AllocSetContextCreate(CacheMemoryContext, "spawn index plan", ALLOCSET_SMALL_SIZES);
  MemoryContext old = MemoryContextSwitchTo(c->context);
  List *oids = RelationGetIndexList(rel);
  plan->indexes = static_cast<IndexPlan *>(palloc0(sizeof(IndexPlan) * (list_length(oids) + 1)));
  plan->econtext = CreateStandaloneExprContext();
  ListCell *cell;
  foreach (cell, oids) {
    Relation index = index_open(lfirst_oid(cell), RowExclusiveLock);
    if (!PlanIndex(index, &plan->indexes[plan->count])) plan->simple = false;
    ++plan->count;
    index_close(index, NoLock);
  }
  MemoryContextSwitchTo(old);
  c->building = false;
  c->valid = !c->stale;  // else rebuilt by the next call
}

}  // namespace

// Looks the table up among the cached plans, rebuilding its plan when it was dropped.
const RelationIndexPlan *IndexPlanFor(Relation rel) {
  if (!callback_registered) {
    CacheRegisterRelcacheCallback(OnRelcacheInvalidation, 0);
    callback_registered = true;
  }
  const Oid relid = RelationGetRelid(rel);
  CachedPlan *slot = nullptr;
  for (CachedPlan &c : cached)
    if (c.context != nullptr && c.plan.relid == relid) slot = &c;
  if (slot == nullptr) {
    slot = &cached[next_victim];
    next_victim = (next_victim + 1) % kCachedRelations;
  }
  if (!slot->valid) Build(slot, rel);
  return &slot->plan;
}

}  // namespace spawn
