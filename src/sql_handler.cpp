// Semantics follow fmgr_sql for the shapes accepted: named or positional parameters through
// PostgreSQL's own SQL-function parser hooks, a fresh snapshot for VOLATILE functions, the first
// row only. Anything else (PL languages, multi-statement bodies, BEGIN ATOMIC bodies, row
// results needing coercion) stays on the ordinary fmgr path.
#include "src/sql_handler.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "executor/functions.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "tcop/tcopprot.h"
#include "utils/plancache.h"
#include "utils/syscache.h"
}

namespace spawn {

namespace {

// True when the function's pg_proc row allows the fast path.
bool Eligible(HeapTuple proc_tuple, bool result_ignored, char **source) {
  auto *proc = reinterpret_cast<Form_pg_proc>(GETSTRUCT(proc_tuple));
  if (proc->prolang != SQLlanguageId || proc->prosecdef || proc->proretset) return false;
  if (!heap_attisnull(proc_tuple, Anum_pg_proc_proconfig, nullptr)) return false;
  if (!heap_attisnull(proc_tuple, Anum_pg_proc_prosqlbody, nullptr)) return false;
  bool isnull;
  Datum src = SysCacheGetAttr(PROCOID, proc_tuple, Anum_pg_proc_prosrc, &isnull);
  if (isnull) return false;
  *source = TextDatumGetCString(src);
  List *statements = pg_parse_query(*source);
  if (list_length(statements) != 1) return false;
  Node *statement = linitial_node(RawStmt, statements)->stmt;
  if (result_ignored &&
      (IsA(statement, InsertStmt) || IsA(statement, UpdateStmt) || IsA(statement, DeleteStmt)))
    return true;
  return IsA(statement, SelectStmt) &&
         reinterpret_cast<SelectStmt *>(statement)->intoClause == nullptr;
}

// Builds the parameter list of a prepared body.
ParamListInfo MakeParams(int nargs, const Datum *values, const bool *nulls, const Oid *types) {
  ParamListInfo params = makeParamList(nargs);
  for (int i = 0; i < nargs; ++i) {
    params->params[i].value = values[i];
    params->params[i].isnull = nulls[i];
    params->params[i].pflags = PARAM_FLAG_CONST;
    params->params[i].ptype = types[i];
  }
  return params;
}

}  // namespace

// Prepares the body with the SQL-function parser hooks.
bool PrepareSqlHandler(Oid function, MemoryContext context, SqlHandlerPlan *out,
                       bool result_ignored) {
  HeapTuple proc_tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(function));
  if (!HeapTupleIsValid(proc_tuple)) return false;
  char *source = nullptr;
  bool ok = Eligible(proc_tuple, result_ignored, &source);
  if (ok) {
    auto *proc = reinterpret_cast<Form_pg_proc>(GETSTRUCT(proc_tuple));
    MemoryContext old = MemoryContextSwitchTo(context);
    SQLFunctionParseInfoPtr parse_info = prepare_sql_fn_parse_info(proc_tuple, nullptr, InvalidOid);
    MemoryContextSwitchTo(old);
    SPIPrepareOptions options;
    memset(&options, 0, sizeof options);
    options.parserSetup = reinterpret_cast<ParserSetupHook>(sql_fn_parser_setup);
    options.parserSetupArg = parse_info;
    options.parseMode = RAW_PARSE_DEFAULT;
    // Always the generic plan, as fmgr_sql plans a body (without the arguments' values); it
    // also lets a one-expression body keep its compiled expression (sql_expression.hpp).
    options.cursorOptions = CURSOR_OPT_GENERIC_PLAN;
    SPIPlanPtr plan = SPI_prepare_extended(source, &options);
    ok = plan != nullptr;
    if (ok && !result_ignored) {
      auto *source_plan =
          static_cast<CachedPlanSource *>(linitial(SPI_plan_get_plan_sources(plan)));
      TupleDesc desc = source_plan->resultDesc;
      ok = desc != nullptr && desc->natts == 1 &&
           TupleDescAttr(desc, 0)->atttypid == proc->prorettype;
    }
    if (ok) {
      SPI_keepplan(plan);
      out->plan = plan;
      out->read_only = proc->provolatile != PROVOLATILE_VOLATILE;
      out->expression = result_ignored ? nullptr : SqlExpressionCreate(context);
    } else if (plan != nullptr) {
      SPI_freeplan(plan);
    }
  }
  ReleaseSysCache(proc_tuple);
  return ok;
}

// Executes the prepared body with the arguments as parameters.
Datum ExecuteSqlHandler(const SqlHandlerPlan *handler, int nargs, const Datum *values,
                        const bool *nulls, const Oid *types, bool *isnull) {
  Datum value_out;
  SPIExecuteOptions options;
  memset(&options, 0, sizeof options);
  options.params = MakeParams(nargs, values, nulls, types);
  if (handler->expression != nullptr &&
      SqlExpressionEvaluate(handler->expression, handler->plan, handler->read_only, options.params,
                            &value_out, isnull))
    return value_out;
  options.read_only = handler->read_only;
  options.tcount = 1;
  int rc = SPI_execute_plan_extended(handler->plan, &options);
  if (rc != SPI_OK_SELECT) elog(ERROR, "spawn: SQL handler failed: %s", SPI_result_code_string(rc));
  if (SPI_processed == 0) {
    *isnull = true;
    return static_cast<Datum>(0);
  }
  return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);
}

// Executes the prepared body for its effects.
void ExecuteSqlStatement(const SqlHandlerPlan *handler, int nargs, const Datum *values,
                         const bool *nulls, const Oid *types) {
  SPIExecuteOptions options;
  memset(&options, 0, sizeof options);
  options.params = MakeParams(nargs, values, nulls, types);
  options.read_only = handler->read_only;
  const int rc = SPI_execute_plan_extended(handler->plan, &options);
  if (rc < 0) elog(ERROR, "spawn: SQL function failed: %s", SPI_result_code_string(rc));
}

}  // namespace spawn
