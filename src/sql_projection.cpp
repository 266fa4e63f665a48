// SQL entry point of projections written in C: spawn._project_all (behind create_projection and
// rebuild_projection, which are PL/pgSQL).
#include "src/guard.hpp"
#include "src/projection.hpp"
#include "src/spi_util.hpp"

// spawn._project_all(projection_id integer, clear boolean) RETURNS bigint
SPAWN_FUNCTION(spawn_project_all) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                    errmsg("projection id and clear must not be null")));
  int64 projected = 0;
  spawn::RunInSpi([&](spawn::Catalog *cat) {
    projected = spawn::ProjectAll(cat, PG_GETARG_INT32(0), PG_GETARG_BOOL(1));
  });
  PG_RETURN_INT64(projected);
}
