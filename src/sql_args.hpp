// Reading SQL-callable function arguments with clear errors for NULLs.
#pragma once

#include "src/pg.hpp"

namespace spawn {

// Reads a text argument that must not be NULL; `what` names it in the error.
const char *RequiredText(FunctionCallInfo fcinfo, int arg, const char *what);

// Reads the actor and system name arguments, which must not be NULL and must be valid names
// (22004, 42602 otherwise); the actor is checked first.
void RequiredActorAndSystem(FunctionCallInfo fcinfo, int actor_arg, int system_arg,
                            const char **actor, const char **system);

// Reads an optional text argument (NULL stays NULL).
const char *OptionalText(FunctionCallInfo fcinfo, int arg);

// Reads an optional jsonb argument.
Jsonb *OptionalJsonb(FunctionCallInfo fcinfo, int arg);

}  // namespace spawn
