// The scheduler's processes connect to spawn.database only; a cast, async request, side
// effect, broadcast, schedule or timer in another database would stay pending without a word.
// CREATE EXTENSION refuses other databases, and every operation that queues work checks again
// (a database copied from a template, or spawn.database changed after the extension was
// created, still holds the extension).
#include "src/served_database.hpp"

#include "src/guard.hpp"
#include "src/settings.hpp"

extern "C" {
#include "commands/dbcommands.h"
}

namespace spawn {

namespace {

int served = -1;  // per backend: -1 unknown, else 0 or 1 (the database and setting are fixed)

}  // namespace

// Compares the current database's name with spawn.database, once per backend.
bool SchedulerServesThisDatabase() {
  if (served < 0) {
    const char *name = get_database_name(MyDatabaseId);
    served = name != nullptr && setting_database != nullptr && strcmp(name, setting_database) == 0;
  }
  return served == 1;
}

// Refuses work the scheduler would never see.
void RequireSchedulerDatabase(const char *what) {
  if (SchedulerServesThisDatabase()) return;
  const char *here = get_database_name(MyDatabaseId);
  if (here == nullptr) here = "";
  const char *served_name = setting_database != nullptr ? setting_database : "";
  ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                  errmsg("spawn's scheduler does not serve database \"%s\"", here),
                  errdetail("%s here would never run: the scheduler works in database \"%s\" "
                            "(spawn.database) only.",
                            what, served_name),
                  errhint("Use spawn in database \"%s\", or set spawn.database = '%s' in "
                          "postgresql.conf and restart the server.",
                          served_name, here)));
}

}  // namespace spawn

// spawn._require_scheduler(what text): raises unless the scheduler serves this database.
SPAWN_FUNCTION(spawn_require_scheduler) {
  const char *what = PG_ARGISNULL(0) ? "Work" : text_to_cstring(PG_GETARG_TEXT_PP(0));
  spawn::RequireSchedulerDatabase(what);
  PG_RETURN_VOID();
}
