// SQL entry points of the option document checks: each turns its jsonb arguments into JSON text
// and lets the pure C++ validator (options.cpp) judge them. The validator reads UTF-8, so in a
// database of another encoding the text is converted, and its messages converted back.
#include <string>
#include <string_view>

#include "src/core/errors.hpp"
#include "src/guard.hpp"
#include "src/core/options.hpp"

extern "C" {
#include "mb/pg_wchar.h"
}

namespace {

// A jsonb argument as JSON text the validator can read: jsonb's own output, "null" for a SQL
// NULL, converted to UTF-8 when the database uses another encoding. Raises as PostgreSQL does.
std::string_view DocumentText(FunctionCallInfo fcinfo, int arg) {
  if (PG_ARGISNULL(arg)) return "null";
  Jsonb *document = PG_GETARG_JSONB_P(arg);
  char *text = JsonbToCString(nullptr, &document->root, VARSIZE(document));
  const int length = static_cast<int>(strlen(text));
  if (GetDatabaseEncoding() != PG_UTF8 && GetDatabaseEncoding() != PG_SQL_ASCII)
    text = pg_server_to_any(text, length, PG_UTF8);
  return std::string_view(text, strlen(text));
}

// A UTF-8 text of the validator in the database's encoding.
std::string ToServerEncoding(const std::string &utf8) {
  char *converted = nullptr;
  spawn::PgCall(
      [&] { converted = pg_any_to_server(utf8.c_str(), static_cast<int>(utf8.size()), PG_UTF8); });
  return converted;
}

// Runs a check; its error reaches the door guard in the database's encoding.
template <typename Check>
void RunCheck(Check &&check) {
  if (GetDatabaseEncoding() == PG_UTF8 || GetDatabaseEncoding() == PG_SQL_ASCII) {
    check();
    return;
  }
  const char *sqlstate = nullptr;
  std::string message, detail, hint;
  try {
    check();
  } catch (const spawn::SpawnError &e) {
    sqlstate = e.sqlstate();
    message = e.what();
    detail = e.detail();
    hint = e.hint();
  }
  if (sqlstate == nullptr) return;
  throw spawn::SpawnError(sqlstate, ToServerEncoding(message), ToServerEncoding(detail),
                          ToServerEncoding(hint));
}

}  // namespace

// spawn._check_options(kind text, document jsonb) RETURNS void: checks an actions, tags or
// system options document; raises what the validator raises.
SPAWN_FUNCTION(spawn_check_options) {
  if (PG_ARGISNULL(0))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                    errmsg("option document kind must not be null")));
  const char *kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
  const std::string_view document = DocumentText(fcinfo, 1);
  RunCheck([&] { spawn::options::CheckDocument(kind, document); });
  PG_RETURN_VOID();
}

// spawn._check_schedules(actions jsonb, timers jsonb, channels jsonb) RETURNS void: checks the
// timers and channel subscriptions against the actions.
SPAWN_FUNCTION(spawn_check_schedules) {
  const std::string_view actions = DocumentText(fcinfo, 0);
  const std::string_view timers = DocumentText(fcinfo, 1);
  const std::string_view channels = DocumentText(fcinfo, 2);
  RunCheck([&] { spawn::options::CheckSchedules(actions, timers, channels); });
  PG_RETURN_VOID();
}
