// SQL entry points of the invoke path: spawn.invoke and spawn.state.
#include "src/catalog.hpp"
#include "src/guard.hpp"
#include "src/invoke.hpp"
#include "src/not_found.hpp"
#include "src/privilege.hpp"
#include "src/spi_util.hpp"
#include "src/sql_args.hpp"
#include "src/state_store.hpp"

using spawn::OptionalJsonb;
using spawn::RequiredText;

// spawn.invoke(actor, action, payload, system, metadata, register_ref) RETURNS jsonb
SPAWN_FUNCTION(spawn_invoke) {
  spawn::InvokeRequest request{};
  request.actor = RequiredText(fcinfo, 0, "actor");
  request.action = RequiredText(fcinfo, 1, "action");
  request.payload = OptionalJsonb(fcinfo, 2);
  request.system = RequiredText(fcinfo, 3, "system");
  request.metadata = OptionalJsonb(fcinfo, 4);
  request.register_ref = spawn::OptionalText(fcinfo, 5);
  Jsonb *response = spawn::Invoke(&request);
  if (response == nullptr) PG_RETURN_NULL();
  PG_RETURN_JSONB_P(response);
}

// spawn.state(actor, system) RETURNS jsonb: the decrypted current state, without a lock.
SPAWN_FUNCTION(spawn_state) {
  const char *actor, *system;
  spawn::RequiredActorAndSystem(fcinfo, 0, 1, &actor, &system);
  return spawn::ReturnFromSpi(fcinfo, [&](spawn::Catalog *catalog) {
    spawn::InstanceRow row;
    if (!spawn::StateFetch(catalog, system, actor, &row)) spawn::RaiseActorNotFound(system, actor);
    spawn::RequireInstancePrivilege(&row, spawn::kPrivilegeRead);
    PG_RETURN_JSONB_P(spawn::StateDecrypt(&row));
  });
}
