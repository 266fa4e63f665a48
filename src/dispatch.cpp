// Handlers run with the caller's privileges: the state table is accessed as the extension's
// owner only around spawn's own statements (state_store.cpp), never around user code.
#include "src/dispatch.hpp"

#include "src/host_handler.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "funcapi.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
}

namespace spawn {

namespace {

// Builds the spawn.context row for a call.
Datum BuildContext(const Catalog *catalog, const HandlerCall *call) {
  Datum values[8];
  bool nulls[8] = {false, false, false, false, false, false, false, false};
  const Definition *def = call->definition;
  values[0] = CStringGetTextDatum(def->system);
  values[1] = CStringGetTextDatum(call->actor);
  values[2] = CStringGetTextDatum(def->name);
  nulls[2] = def->kind != ActorKind::kUnnamed;
  values[3] = CStringGetTextDatum(call->action);
  values[4] = Int64GetDatum(call->revision);
  values[5] = call->caller ? CStringGetTextDatum(call->caller) : static_cast<Datum>(0);
  nulls[5] = call->caller == nullptr;
  values[6] = PointerGetDatum(call->metadata);
  nulls[6] = call->metadata == nullptr;
  values[7] = PointerGetDatum(def->tags);
  HeapTuple tuple = heap_form_tuple(catalog->context_desc, values, nulls);
  return HeapTupleGetDatum(tuple);
}

// Raises the error for a handler result of the wrong shape.
void WrongShape(const HandlerCall *call, const char *detail) {
  ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                  errmsg("handler %s of action \"%s\" returned an invalid value",
                         call->handler->function_name, call->action),
                  errdetail("%s", detail),
                  errhint("Return spawn.reply(response, state) or spawn.noreply(state), or a "
                          "jsonb object with the keys \"state\", \"response\" and "
                          "\"workflow\".")));
}

// Reads key `name` of a jsonb object as a jsonb value, or NULL when absent or JSON null.
Jsonb *ObjectField(Jsonb *object, const char *name) {
  JsonbValue *value = getKeyJsonValueFromContainer(&object->root, name, strlen(name), nullptr);
  if (value == nullptr || value->type == jbvNull) return nullptr;
  return JsonbValueToJsonb(value);
}

// Splits a jsonb-returning handler's object, rejecting unknown keys.
void SplitJsonbResult(const HandlerCall *call, Jsonb *object, HandlerResult *result) {
  if (!JB_ROOT_IS_OBJECT(object) || JB_ROOT_IS_SCALAR(object))
    WrongShape(call, "The jsonb result is not an object.");
  JsonbIterator *it = JsonbIteratorInit(&object->root);
  JsonbValue v;
  JsonbIteratorToken token;
  while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE) {
    if (token != WJB_KEY) continue;
    const char *keys[] = {"state", "response", "workflow"};
    bool known = false;
    for (const char *key : keys)
      known |= v.val.string.len == static_cast<int>(strlen(key)) &&
               memcmp(v.val.string.val, key, v.val.string.len) == 0;
    if (!known)
      WrongShape(call, psprintf("Unknown key \"%.*s\" in the jsonb result.", v.val.string.len,
                                v.val.string.val));
  }
  result->state = ObjectField(object, "state");
  result->response = ObjectField(object, "response");
  result->workflow = ObjectField(object, "workflow");
}

// Reads the jsonb fields (state, response, workflow) of a spawn.value row with one deform:
// GetAttributeByNum looked the row type up again for every field (1,100 instructions per
// invoke). The row's own type and typmod give the descriptor, as GetAttributeByNum takes it.
void SplitValueRow(HeapTupleHeader row, HandlerResult *result) {
  TupleDesc desc =
      lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(row), HeapTupleHeaderGetTypMod(row));
  HeapTupleData tuple;
  tuple.t_len = HeapTupleHeaderGetDatumLength(row);
  ItemPointerSetInvalid(&tuple.t_self);
  tuple.t_tableOid = InvalidOid;
  tuple.t_data = row;
  auto *values = static_cast<Datum *>(palloc(sizeof(Datum) * desc->natts));
  auto *nulls = static_cast<bool *>(palloc(sizeof(bool) * desc->natts));
  heap_deform_tuple(&tuple, desc, values, nulls);
  Jsonb **fields[] = {&result->state, &result->response, &result->workflow};
  for (int i = 0; i < 3; ++i)
    *fields[i] = i < desc->natts && !nulls[i] ? DatumGetJsonbP(values[i]) : nullptr;
  ReleaseTupleDesc(desc);
}

// Adds "spawn actor ..., action ..." to errors raised inside a handler.
void HandlerErrorContext(void *arg) {
  const auto *call = static_cast<const HandlerCall *>(arg);
  errcontext("spawn actor \"%s\", action \"%s\"", call->actor, call->action);
}

}  // namespace

// The function must still exist, and the current user must hold EXECUTE on it.
void RequireHandlerCallable(const Definition *def, const Handler *h) {
  if (h->host != nullptr) return;  // the actor's invoke privilege is all a host call needs
  if (!SearchSysCacheExists1(PROCOID, ObjectIdGetDatum(h->call.function)))
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_FUNCTION),
                    errmsg("handler function %s of action \"%s\" no longer exists",
                           h->function_name, h->action),
                    errhint("Re-register actor \"%s\" with an existing function.", def->name)));
  const AclResult acl = pg_proc_aclcheck(h->call.function, GetUserId(), ACL_EXECUTE);
  if (acl != ACLCHECK_OK) aclcheck_error(acl, OBJECT_FUNCTION, get_func_name(h->call.function));
}

// Resolves the handler on its first call and calls it as the current user (also the caller of
// spawn functions it calls); errors carry the actor's and action's names.
void CallHandler(const Catalog *catalog, const HandlerCall *call, HandlerResult *result) {
  const Handler *h = call->handler;
  ErrorContextCallback context{error_context_stack, HandlerErrorContext,
                               const_cast<HandlerCall *>(call)};
  error_context_stack = &context;
  if (h->host != nullptr) {
    CallHostHandler(call, h->host, result);
    error_context_stack = context.previous;
    return;
  }
  RequireHandlerCallable(call->definition, h);
  CachedFunctionResolve(&h->call, false);

  const int nargs = h->takes_context ? 3 : 2;
  LOCAL_FCINFO(fcinfo, 3);
  InitFunctionCallInfoData(*fcinfo, const_cast<FmgrInfo *>(&h->call.flinfo), nargs, InvalidOid,
                           nullptr, nullptr);
  fcinfo->args[0].value = PointerGetDatum(call->state);
  fcinfo->args[0].isnull = false;
  fcinfo->args[1].value = PointerGetDatum(call->payload);
  fcinfo->args[1].isnull = call->payload == nullptr;
  fcinfo->args[2].value = h->takes_context ? BuildContext(catalog, call) : 0;
  fcinfo->args[2].isnull = !h->takes_context;
  Datum value = 0;
  bool isnull = true;
  const bool skipped_strict = h->call.flinfo.fn_strict && call->payload == nullptr;
  if (!skipped_strict && h->call.sql.plan != nullptr) {
    Datum values[3] = {fcinfo->args[0].value, fcinfo->args[1].value, fcinfo->args[2].value};
    bool nulls[3] = {false, fcinfo->args[1].isnull, false};
    Oid types[3] = {JSONBOID, JSONBOID, catalog->context_type};
    value = ExecuteSqlHandler(&h->call.sql, nargs, values, nulls, types, &isnull);
  } else if (!skipped_strict) {
    value = FunctionCallInvoke(fcinfo);
    isnull = fcinfo->isnull;
  }
  error_context_stack = context.previous;
  if (skipped_strict || isnull)
    ereport(ERROR,
            (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
             errmsg("handler %s of action \"%s\" returned null", h->function_name, call->action),
             skipped_strict ? errdetail("The function is STRICT and the payload was null.") : 0,
             errhint("Return spawn.reply(response, state) or spawn.noreply(state).")));
  if (h->returns_jsonb) {
    SplitJsonbResult(call, DatumGetJsonbP(value), result);
    return;
  }
  SplitValueRow(DatumGetHeapTupleHeader(value), result);
}

}  // namespace spawn
