// Timer rows of an instance, created when it activates; the launcher fires them.
#pragma once

#include "src/catalog.hpp"

namespace spawn {

// Creates the timer rows of a newly activated instance from its definition (first tick one
// period from now). SPI must be connected.
void TimersStart(const Catalog *catalog, const char *system, const char *actor,
                 int32 definition_id);

}  // namespace spawn
