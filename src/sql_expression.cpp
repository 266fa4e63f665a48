// Why this is safe (what SPI would have done, and what is kept):
// - The plan is still fetched with GetCachedPlan on every call, exactly as SPI does: it
//   revalidates the body (a replaced function, a changed search_path or role makes a new plan)
//   and holds the plan while the expression runs. The expression is compiled from a copy of the
//   plan's target, keyed by the plan's generation, so a new plan is always compiled afresh.
// - And keyed by the role: compiling checks EXECUTE on every function the body calls
//   (ExecInitFunc), as the executor does on each run for the current user, and a generic plan
//   is shared by every role; so another role compiles it again and is checked in turn.
// - Only a bare Result plan qualifies: no table (so no locks or permission checks to make), no
//   qual, sub-plan, init plan or PARAM_EXEC parameter, no Var. Its one row is the target.
// - Snapshots as SPI takes them: a VOLATILE body gets a fresh snapshot after a command counter
//   increment; a STABLE/IMMUTABLE one runs under the caller's. Errors carry SPI's context line.
// - Each evaluation runs in the expression's own per-tuple memory, reset before the next; the
//   result is copied out. An error drops the compiled state (a cache a function was building
//   in it might be half done), and a body evaluated again further up the stack (one actor's
//   handler invoking another instance of the same definition) goes through SPI instead, since
//   an expression state is not re-entrant.
#include "src/sql_expression.hpp"

extern "C" {
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/plannodes.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"
#include "utils/snapmgr.h"
#include "tcop/pquery.h"
}

namespace spawn {

struct SqlExpression {
  MemoryContext parent;   // the owning cache's memory
  MemoryContext context;  // the compiled state, replaced on every compilation
  int generation;         // the plan generation compiled (or found unsuitable); -1: none
  Oid role;               // the user it was compiled (and its functions' EXECUTE checked) as
  bool suitable;          // that plan is one expression
  bool in_use;            // being evaluated by a frame further up the stack
  ExprState *state;
  ExprContext *econtext;
  int16 result_length;
  bool result_by_value;
};

namespace {

// True for expression nodes that need an executor around them (rows, sub-plans, aggregates).
bool NeedsExecutor(Node *node, void *) {
  if (node == nullptr) return false;
  if (IsA(node, Var) || IsA(node, SubPlan) || IsA(node, AlternativeSubPlan) || IsA(node, SubLink) ||
      IsA(node, Aggref) || IsA(node, WindowFunc) || IsA(node, GroupingFunc) ||
      IsA(node, CurrentOfExpr))
    return true;
  if (IsA(node, Param) && reinterpret_cast<Param *>(node)->paramkind != PARAM_EXTERN) return true;
  // The walker's C signature takes an untyped function pointer; cast through void *.
  auto walker = reinterpret_cast<bool (*)()>(reinterpret_cast<void *>(NeedsExecutor));
  return expression_tree_walker(node, walker, nullptr);
}

// The target expression of a plan that is a bare Result node, or nullptr.
Expr *SingleExpression(const CachedPlan *plan) {
  if (list_length(plan->stmt_list) != 1) return nullptr;
  const PlannedStmt *stmt = linitial_node(PlannedStmt, plan->stmt_list);
  if (stmt->commandType != CMD_SELECT || stmt->utilityStmt != nullptr || stmt->hasModifyingCTE ||
      stmt->subplans != NIL || stmt->rowMarks != NIL || stmt->paramExecTypes != NIL ||
      stmt->planTree == nullptr || !IsA(stmt->planTree, Result))
    return nullptr;
  const auto *result = reinterpret_cast<const Result *>(stmt->planTree);
  if (result->resconstantqual != nullptr || result->plan.qual != NIL ||
      result->plan.initPlan != NIL || result->plan.lefttree != nullptr ||
      result->plan.righttree != nullptr)
    return nullptr;
  ListCell *cell;
  foreach (cell, stmt->rtable)
    if (lfirst_node(RangeTblEntry, cell)->rtekind == RTE_RELATION) return nullptr;
  foreach (cell, result->plan.targetlist) {
    auto *entry = lfirst_node(TargetEntry, cell);
    if (entry->resjunk) continue;
    Node *expr = reinterpret_cast<Node *>(entry->expr);
    if (expression_returns_set(expr) || NeedsExecutor(expr, nullptr)) return nullptr;
    return entry->expr;
  }
  return nullptr;
}

// Forgets the compiled state (after an error inside it, or before compiling anew).
void Discard(SqlExpression *expression) {
  if (expression->context != nullptr) MemoryContextDelete(expression->context);
  expression->context = nullptr;
  expression->state = nullptr;
  expression->suitable = false;
  expression->generation = -1;
}

// Compiles (or rules out) the expression of `plan`, replacing what was kept before.
void Compile(SqlExpression *expression, const CachedPlan *plan) {
  Discard(expression);
  Expr *target = SingleExpression(plan);
  if (target != nullptr) {
    expression->context =
        AllocSetContextCreate(expression->parent, "spawn handler expression", ALLOCSET_SMALL_SIZES);
    MemoryContext old = MemoryContextSwitchTo(expression->context);
    // A copy: the state never points into the plan, which may be freed once rebuilt.
    Expr *copy = static_cast<Expr *>(copyObjectImpl(target));
    expression->econtext = CreateStandaloneExprContext();
    expression->state = ExecInitExpr(copy, nullptr);
    MemoryContextSwitchTo(old);
    get_typlenbyval(exprType(reinterpret_cast<Node *>(copy)), &expression->result_length,
                    &expression->result_by_value);
  }
  // Recorded last: an error above leaves generation -1, so the next call compiles again.
  expression->suitable = target != nullptr;
  expression->generation = plan->generation;
  expression->role = GetUserId();
}

// Adds SPI's context line ("SQL statement ...") to errors raised by the expression.
void StatementErrorContext(void *arg) {
  errcontext("SQL statement \"%s\"", static_cast<const char *>(arg));
}

}  // namespace

// An empty kept state in the cache's memory.
SqlExpression *SqlExpressionCreate(MemoryContext parent) {
  auto *expression =
      static_cast<SqlExpression *>(MemoryContextAllocZero(parent, sizeof(SqlExpression)));
  expression->parent = parent;
  expression->generation = -1;
  return expression;
}

// Revalidates the plan, compiles when it changed, and evaluates under SPI's snapshot rules.
bool SqlExpressionEvaluate(SqlExpression *expression, SPIPlanPtr plan, bool read_only,
                           ParamListInfo params, Datum *value, bool *isnull) {
  if (expression->in_use) return false;
  auto *source = static_cast<CachedPlanSource *>(linitial(SPI_plan_get_plan_sources(plan)));
  // Known unsuitable and still the same plan: straight to SPI, without fetching it twice.
  if (!expression->suitable && source->gplan != nullptr && source->gplan->is_valid &&
      source->gplan->generation == expression->generation)
    return false;
  CachedPlan *cached = GetCachedPlan(source, params, CurrentResourceOwner, nullptr);
  const bool generic = cached == source->gplan;  // a custom plan has the parameters folded in
  if (generic && (cached->generation != expression->generation || expression->role != GetUserId()))
    Compile(expression, cached);
  if (!generic || !expression->suitable) {
    ReleaseCachedPlan(cached, CurrentResourceOwner);
    return false;
  }
  ErrorContextCallback context{error_context_stack, StatementErrorContext,
                               const_cast<char *>(source->query_string)};
  error_context_stack = &context;
  bool pushed = false;
  EnsurePortalSnapshotExists();
  if (!read_only) {
    PushActiveSnapshot(GetTransactionSnapshot());
    pushed = true;
    CommandCounterIncrement();
    UpdateActiveSnapshotCommandId();
  }
  ExprContext *econtext = expression->econtext;
  ResetExprContext(econtext);
  econtext->ecxt_param_list_info = params;
  MemoryContext caller = CurrentMemoryContext;
  expression->in_use = true;
  PG_TRY();
  {
    Datum result = ExecEvalExprSwitchContext(expression->state, econtext, isnull);
    *value = *isnull ? static_cast<Datum>(0)
                     : datumCopy(result, expression->result_by_value, expression->result_length);
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(caller);
    expression->in_use = false;
    Discard(expression);
    PG_RE_THROW();
  }
  PG_END_TRY();
  expression->in_use = false;
  econtext->ecxt_param_list_info = nullptr;
  ResetExprContext(econtext);
  if (pushed) PopActiveSnapshot();
  error_context_stack = context.previous;
  ReleaseCachedPlan(cached, CurrentResourceOwner);
  return true;
}

}  // namespace spawn
