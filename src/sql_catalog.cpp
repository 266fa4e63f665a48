// SQL helpers of the catalog functions written in PL/pgSQL (sql/spawn--1.0.sql).
#include "src/actor_lock.hpp"
#include "src/identity.hpp"
#include "src/guard.hpp"
#include "src/name_check.hpp"
#include "src/core/names.hpp"
#include "src/privilege.hpp"
#include "src/spi_util.hpp"
#include "src/state_store.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "utils/acl.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
}

// spawn._check_name(what text, name text) RETURNS void: raises 42602 for a bad name.
SPAWN_FUNCTION(spawn_check_name) {
  if (PG_ARGISNULL(1))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                    errmsg("%s name must not be null",
                           PG_ARGISNULL(0) ? "object" : text_to_cstring(PG_GETARG_TEXT_PP(0)))));
  const char *what = PG_ARGISNULL(0) ? "object" : text_to_cstring(PG_GETARG_TEXT_PP(0));
  text *name = PG_GETARG_TEXT_PP(1);
  spawn::RequireName(what, VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name));
  PG_RETURN_VOID();
}

// spawn._catalog_changed() RETURNS void: at commit, tells every backend to reload definitions.
SPAWN_FUNCTION(spawn_catalog_changed) {
  Oid relid = get_relname_relid("_definitions", get_namespace_oid("spawn", false));
  if (OidIsValid(relid)) CacheInvalidateRelcacheByRelid(relid);
  PG_RETURN_VOID();
}

// spawn._caller() RETURNS oid: the role a request is attributed to (identity.hpp): inside
// spawn's owner-run catalog functions the role that called them, so definitions record who
// really registered them.
SPAWN_FUNCTION(spawn_caller) {
  PG_RETURN_OID(spawn::CallerRole());
}

// spawn._may(privilege, system, actor, role) RETURNS boolean: whether the role holds the
// privilege on an actor, a template or an instance (false when none has that name).
SPAWN_FUNCTION(spawn_may) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
    PG_RETURN_BOOL(false);
  const int privilege = spawn::PrivilegeFromName(text_to_cstring(PG_GETARG_TEXT_PP(0)));
  const char *system = text_to_cstring(PG_GETARG_TEXT_PP(1));
  const char *actor = text_to_cstring(PG_GETARG_TEXT_PP(2));
  const Oid role = PG_GETARG_OID(3);
  if (!has_privs_of_role(GetUserId(), role))
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("permission denied to ask for the privileges of another role"),
                    errhint("spawn._may answers for the current role and the roles it is a "
                            "member of.")));
  bool may = false;
  spawn::RunInSpi([&](spawn::Catalog *catalog) {
    const spawn::Definition *def = spawn::CatalogFindByName(system, actor);
    spawn::InstanceRow row;
    if (def == nullptr && spawn::NameProblem(actor, strlen(actor)) == nullptr &&
        spawn::StateFetch(catalog, system, actor, &row))
      def = spawn::CatalogFindById(row.definition_id);
    may = def != nullptr && spawn::HasPrivilege(def, privilege, role);
  });
  PG_RETURN_BOOL(may);
}

// spawn._lock_name(system, name) RETURNS void: the actor lock of a name, until the transaction
// ends (registration, unregistration and spawning of that name take it).
SPAWN_FUNCTION(spawn_lock_name) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("name must not be null")));
  spawn::ActorLockAcquire(text_to_cstring(PG_GETARG_TEXT_PP(0)),
                          text_to_cstring(PG_GETARG_TEXT_PP(1)), true);
  PG_RETURN_VOID();
}
