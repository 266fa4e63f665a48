// Validation of the JSON option documents users pass to register_actor and create_system:
// actions, timers, channels, tags and system options. Pure C++ (no PostgreSQL headers): the
// SQL entry points (sql_options.cpp) hand over the jsonb's text, and every rule that is broken
// becomes a SpawnError with the SQLSTATE, message, detail and hint that SQL users see.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

namespace spawn::options {

// Deepest nesting of arrays and objects accepted in any document; deeper ones raise 54001
// before the parser or the checks could exhaust the stack.
inline constexpr std::size_t kMaxDepth = 1000;

// Largest timer period: one year of milliseconds (timers beyond that belong to cron).
inline constexpr std::int64_t kMaxEveryMs = 365LL * 24 * 3600 * 1000;

// Checks an actions document ({"<action>": "<function>", ...}) and returns its action names.
// Raises 22023 for a document that is not an object or a handler that is not a string, 42602
// for a bad action name.
std::set<std::string> CheckActions(std::string_view actions);

// Checks timers ([{"action": "<action>", "every_ms": <ms>}, ...]) and channel subscriptions
// ([{"topic": "<channel>", "action"?: "<action>"}, ...]) against the actions document:
// 22023 for a malformed one, 42602 for a bad topic, 42883 for an action the actor lacks.
void CheckSchedules(std::string_view actions, std::string_view timers, std::string_view channels);

// Checks that the tags document is a JSON object (22023 otherwise).
void CheckTags(std::string_view tags);

// Checks that a system's options document is a JSON object (22023 otherwise).
void CheckSystemOptions(std::string_view options);

// Checks a document of the kind named "actions", "tags" or "system options" (22023 for another
// kind): the dispatch behind spawn._check_options.
void CheckDocument(std::string_view kind, std::string_view document);

}  // namespace spawn::options
