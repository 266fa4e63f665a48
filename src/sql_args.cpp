// Argument helpers shared by the SQL entry points.
#include "src/sql_args.hpp"

#include "src/name_check.hpp"

namespace spawn {

// Raises 22004 for a NULL argument.
const char *RequiredText(FunctionCallInfo fcinfo, int arg, const char *what) {
  if (PG_ARGISNULL(arg))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s must not be null", what)));
  return text_to_cstring(PG_GETARG_TEXT_PP(arg));
}

// Both texts first, then both names, so a NULL is reported before a bad name.
void RequiredActorAndSystem(FunctionCallInfo fcinfo, int actor_arg, int system_arg,
                            const char **actor, const char **system) {
  *actor = RequiredText(fcinfo, actor_arg, "actor");
  *system = RequiredText(fcinfo, system_arg, "system");
  RequireName("actor", *actor, strlen(*actor));
  RequireName("system", *system, strlen(*system));
}

// NULL or the text.
const char *OptionalText(FunctionCallInfo fcinfo, int arg) {
  return PG_ARGISNULL(arg) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(arg));
}

// NULL or the jsonb.
Jsonb *OptionalJsonb(FunctionCallInfo fcinfo, int arg) {
  return PG_ARGISNULL(arg) ? nullptr : PG_GETARG_JSONB_P(arg);
}

}  // namespace spawn
