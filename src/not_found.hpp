// The errors of the invoke path's lookups, and spawning an instance from its template.
#pragma once

#include "src/catalog.hpp"

namespace spawn {

// Raises "actor system does not exist" or "actor does not exist" for a name with no instance.
[[noreturn]] void RaiseActorNotFound(const char *system, const char *actor);

// Raises the error for invoking an unnamed template instead of one of its instances.
[[noreturn]] void RaiseTemplateInvoked(const Definition *definition);

// Raises the error for an action the actor does not define, listing the ones it does.
[[noreturn]] void RaiseUnknownAction(const Definition *definition, const char *actor,
                                     const char *action);

// Creates instance `actor` of unnamed template `parent` through spawn.spawn_actor.
void SpawnFromTemplate(const char *system, const char *actor, const char *parent);

}  // namespace spawn
