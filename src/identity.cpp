// The owner-call hook works like fmgr_security_definer's own switch, one level up: at the start
// of a marked function it pushes the current user (the caller) and switches to the function's
// owner; at its end, or when it fails, it pops and switches back. A marked function called from
// another one (the current user is then the owner that the outer call switched to) inherits the
// outer call's caller, so nested checks see who really asked.
#include "src/identity.hpp"

extern "C" {
#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "utils/array.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

namespace spawn {

namespace {

constexpr int kMaxDepth = 64;

// One running owner-run function: who called it, and the identity to restore.
struct OwnerCall {
  Oid caller;
  Oid owner;
  SavedUser saved;
};

OwnerCall calls[kMaxDepth];
int depth = 0;
needs_fmgr_hook_type previous_needs_hook = nullptr;
fmgr_hook_type previous_hook = nullptr;

// True when proconfig holds "spawn.run_as_owner=on".
bool CarriesMarker(HeapTuple proc) {
  bool isnull;
  Datum config = SysCacheGetAttr(PROCOID, proc, Anum_pg_proc_proconfig, &isnull);
  if (isnull) return false;
  ArrayType *array = DatumGetArrayTypeP(config);
  Datum *items;
  int count;
  deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &items, nullptr, &count);
  for (int i = 0; i < count; ++i)
    if (strcmp(TextDatumGetCString(items[i]), "spawn.run_as_owner=on") == 0) return true;
  return false;
}

// The owner a marked function of schema spawn runs as, or InvalidOid for any other function.
Oid MarkedFunctionOwner(Oid function) {
  const Oid spawn_schema = get_namespace_oid("spawn", true);
  if (!OidIsValid(spawn_schema) || get_func_namespace(function) != spawn_schema) return InvalidOid;
  HeapTuple proc = SearchSysCache1(PROCOID, ObjectIdGetDatum(function));
  if (!HeapTupleIsValid(proc)) return InvalidOid;
  auto *form = reinterpret_cast<Form_pg_proc>(GETSTRUCT(proc));
  HeapTuple schema = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(spawn_schema));
  Oid owner = InvalidOid;
  if (HeapTupleIsValid(schema)) {
    const Oid schema_owner = reinterpret_cast<Form_pg_namespace>(GETSTRUCT(schema))->nspowner;
    if (!form->prosecdef && form->proowner == schema_owner && CarriesMarker(proc))
      owner = form->proowner;
    ReleaseSysCache(schema);
  }
  ReleaseSysCache(proc);
  return owner;
}

// Asks for the hook on marked functions (and whatever an earlier hook asks for).
bool NeedsOwnerCall(Oid function) {
  if (previous_needs_hook != nullptr && previous_needs_hook(function)) return true;
  return OidIsValid(MarkedFunctionOwner(function));
}

// Switches to the owner at the start of a marked function and back at its end or failure.
void OwnerCallHook(FmgrHookEventType event, FmgrInfo *flinfo, Datum *arg) {
  if (previous_hook != nullptr) previous_hook(event, flinfo, arg);
  const Oid owner = MarkedFunctionOwner(flinfo->fn_oid);
  if (!OidIsValid(owner)) return;
  if (event == FHET_START) {
    if (depth >= kMaxDepth)
      ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                      errmsg("spawn catalog functions are nested more than %d deep", kMaxDepth)));
    OwnerCall *call = &calls[depth];
    const Oid current = GetUserId();
    const bool nested = depth > 0 && calls[depth - 1].owner == current;
    call->caller = nested ? calls[depth - 1].caller : current;
    call->owner = owner;
    BecomeRole(owner, &call->saved);
    ++depth;
    return;
  }
  if (depth == 0) return;  // a transaction abort already reset the stack
  --depth;
  RestoreUser(&calls[depth].saved);
}

// Forgets running calls when a transaction ends (an abort skips their end events).
void ResetOnTransactionEnd(XactEvent event, void *) {
  if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT) depth = 0;
}

}  // namespace

// Sets the GUC for this nesting level only.
int PinInternalSearchPath() {
  const int level = NewGUCNestLevel();
  (void)set_config_option("search_path", kInternalSearchPath, PGC_USERSET, PGC_S_SESSION,
                          GUC_ACTION_SAVE, true, 0, false);
  return level;
}

// Saves the identity, then switches to the role.
void BecomeRole(Oid role, SavedUser *saved) {
  GetUserIdAndSecContext(&saved->user, &saved->security_context);
  saved->guc_level = 0;
  SetUserIdAndSecContext(role, saved->security_context | SECURITY_LOCAL_USERID_CHANGE);
}

// Switches to the owner for the next statements, which resolve names with the pinned
// search_path only.
void BecomeOwner(Oid owner, SavedUser *saved) {
  BecomeRole(owner, saved);
  saved->guc_level = PinInternalSearchPath();
}

// Saves the identity, then switches to the role in a security-restricted operation.
void BecomeRestricted(Oid role, SavedUser *saved) {
  GetUserIdAndSecContext(&saved->user, &saved->security_context);
  saved->guc_level = 0;
  SetUserIdAndSecContext(
      role, saved->security_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
}

// Restores the caller's identity (and search_path).
void RestoreUser(const SavedUser *saved) {
  if (saved->guc_level > 0) AtEOXact_GUC(true, saved->guc_level);
  SetUserIdAndSecContext(saved->user, saved->security_context);
}

// The innermost owner-run call's caller while the code runs as that call's owner, else the
// current user.
Oid CallerRole() {
  const Oid current = GetUserId();
  return depth > 0 && calls[depth - 1].owner == current ? calls[depth - 1].caller : current;
}

// Chains the function-manager hooks.
void InstallOwnerCallHooks() {
  previous_needs_hook = needs_fmgr_hook;
  previous_hook = fmgr_hook;
  needs_fmgr_hook = NeedsOwnerCall;
  fmgr_hook = OwnerCallHook;
  RegisterXactCallback(ResetOnTransactionEnd, nullptr);
}

// Refuses, switches user (restricted) and search_path, runs, switches back.
void RunAsOwner(Oid role, void (*body)(void *), void *arg) {
  Oid temp_schema, temp_toast_schema;
  GetTempNamespaceState(&temp_schema, &temp_toast_schema);
  if (OidIsValid(temp_schema) && role != GetUserId())
    ereport(ERROR,
            (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
             errmsg("code of role %s cannot run in a session that has temporary objects",
                    GetUserNameFromId(role, false)),
             errdetail("A temporary table of this session could capture a name inside it (the "
                       "session's temporary schema comes first in a function's own search_path)."),
             errhint("Invoke from a session without temporary tables, or make the projection "
                     "asynchronous.")));
  SavedUser saved;
  BecomeRestricted(role, &saved);
  saved.guc_level = PinInternalSearchPath();
  body(arg);
  RestoreUser(&saved);
}

}  // namespace spawn
