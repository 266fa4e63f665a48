// SQL-callable facts of the shard routing (src/shard_route.hpp) for spawn's PL/pgSQL.
#include "src/guard.hpp"
#include "src/shard_route.hpp"

// spawn._actor_is_here(system text, actor text) RETURNS boolean: false only on a shard that
// does not hold the actor's partition; true on a server that is no shard.
SPAWN_FUNCTION(spawn_actor_is_here) {
  const char *system = text_to_cstring(PG_GETARG_TEXT_PP(0));
  const char *actor = text_to_cstring(PG_GETARG_TEXT_PP(1));
  PG_RETURN_BOOL(!spawn::ShardIsRemote(system, actor));
}
