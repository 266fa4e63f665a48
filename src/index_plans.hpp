// Which indexes a table has and what each needs from a new row, kept per backend so that a
// row written with the heap API (a cast, a state row) does not rebuild it on every call.
#pragma once

#include "src/pg.hpp"

extern "C" {
#include "nodes/execnodes.h"
#include "utils/rel.h"
}

namespace spawn {

// One index of the table: its IndexInfo (plain columns only) and, for a partial index, its
// predicate ready to evaluate against a row of the table.
struct IndexPlan {
  Oid index_oid;
  IndexInfo *info;
  ExprState *predicate;  // nullptr: every row gets an entry
};

// The indexes of one table, or simple = false when one of them needs the executor's general
// path (expression columns, exclusion constraints, deferred uniqueness).
struct RelationIndexPlan {
  Oid relid;
  bool simple;
  int count;
  IndexPlan *indexes;
  ExprContext *econtext;  // evaluates the predicates; its per-row memory is reset per row
};

// The plan of `rel`'s indexes, built on first use and after any relcache invalidation of the
// table or of one of its indexes. `rel` must be open with at least RowExclusiveLock, so its
// set of indexes cannot change until the end of the transaction except by invalidations that
// the next call sees.
const RelationIndexPlan *IndexPlanFor(Relation rel);

}  // namespace spawn
