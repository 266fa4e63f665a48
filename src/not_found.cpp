// Error paths only: these may run extra queries, since they end the invocation anyway.
#include "src/not_found.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
}

namespace spawn {

// Distinguishes an unknown system from an unknown actor.
void RaiseActorNotFound(const char *system, const char *actor) {
  Oid types[1] = {TEXTOID};
  Datum args[1] = {CStringGetTextDatum(system)};
  int rc = SPI_execute_with_args("SELECT 1 FROM spawn.systems WHERE name = $1", 1, types, args,
                                 nullptr, true, 1);
  if (rc == SPI_OK_SELECT && SPI_processed == 0)
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                    errmsg("actor system \"%s\" does not exist", system),
                    errhint("Create it with spawn.create_system('%s').", system)));
  ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                  errmsg("actor \"%s\" does not exist in system \"%s\"", actor, system),
                  errhint("Register it with spawn.register_actor, spawn an instance with "
                          "spawn.spawn_actor, or pass register_ref => '<template>'.")));
  pg_unreachable();
}

// An unnamed definition is a template, not an instance.
void RaiseTemplateInvoked(const Definition *def) {
  ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                  errmsg("actor \"%s\" is an unnamed actor template", def->name),
                  errdetail("Templates have instances; invoke one of them by its name."),
                  errhint("Spawn one with spawn.spawn_actor('<instance>', '%s') or invoke "
                          "'<instance>' with register_ref => '%s'.",
                          def->name, def->name)));
  pg_unreachable();
}

// Lists the defined actions and the built-in ones (get, get_state) in the hint.
void RaiseUnknownAction(const Definition *def, const char *actor, const char *action) {
  StringInfoData names;
  initStringInfo(&names);
  bool has_get = false, has_get_state = false;
  for (int i = 0; i < def->handler_count; ++i) {
    appendStringInfo(&names, "%s%s", i ? ", " : "", def->handlers[i].action);
    has_get = has_get || strcmp(def->handlers[i].action, "get") == 0;
    has_get_state = has_get_state || strcmp(def->handlers[i].action, "get_state") == 0;
  }
  if (!has_get) appendStringInfo(&names, "%sget", names.len ? ", " : "");
  if (!has_get_state) appendStringInfo(&names, "%sget_state", names.len ? ", " : "");
  ereport(ERROR, (errcode(ERRCODE_UNDEFINED_FUNCTION),
                  errmsg("actor \"%s\" has no action \"%s\"", actor, action),
                  errhint("Its actions are: %s.", names.data)));
  pg_unreachable();
}

// Calls spawn.spawn_actor, which validates the template and inserts the instance.
void SpawnFromTemplate(const char *system, const char *actor, const char *parent) {
  Oid types[3] = {TEXTOID, TEXTOID, TEXTOID};
  Datum args[3] = {CStringGetTextDatum(actor), CStringGetTextDatum(parent),
                   CStringGetTextDatum(system)};
  int rc = SPI_execute_with_args("SELECT spawn.spawn_actor($1, $2, $3)", 3, types, args, nullptr,
                                 false, 1);
  if (rc != SPI_OK_SELECT) elog(ERROR, "spawn: spawn_actor failed: %s", SPI_result_code_string(rc));
}

}  // namespace spawn
