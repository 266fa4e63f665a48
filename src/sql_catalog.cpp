// SQL helpers of the catalog functions written in PL/pgSQL (sql/spawn--1.0.sql).
#include "acting_role.hpp"
#include "guard.hpp"
#include "name_check.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
}

// spawn._check_name(what text, name text) RETURNS void: raises 42602 for a bad name.
SPAWN_FUNCTION(spawn_check_name) {
  if (PG_ARGISNULL(1))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                    errmsg("%s name must not be null",
                           PG_ARGISNULL(0) ? "object" : text_to_cstring(PG_GETARG_TEXT_PP(0)))));
  const char *what = text_to_cstring(PG_GETARG_TEXT_PP(0));
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

// spawn._caller() RETURNS oid: the role a request is attributed to (acting_role.hpp), which a
// SECURITY DEFINER function of spawn's does not change, so definitions record who really
// registered them.
SPAWN_FUNCTION(spawn_caller) {
  PG_RETURN_OID(spawn::CallerRole());
}
