// GET /health, /health/liveness, /health/readiness: liveness answers while the process runs its
// loop; readiness (and /health) also needs the database to answer and the extension to exist.
#include "bgworker/gateway.hpp"

extern "C" {
#include "executor/spi.h"
}

namespace spawn::gateway {

namespace {

// Checks that the extension is installed (PG zone).
void CheckDatabase(void *) {
  if (SPI_execute("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'spawn'", true, 1) !=
          SPI_OK_SELECT ||
      SPI_processed != 1)
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                    errmsg("extension \"spawn\" is not installed in this database")));
}

}  // namespace

// Serves the health endpoints.
void ServeHealth(Endpoint endpoint, Answer *answer) {
  if (endpoint == Endpoint::kLiveness) {
    JsonAnswer(200, "UP", "", answer);
    return;
  }
  TxError error;
  if (RunRequestTransaction("gateway health", CheckDatabase, nullptr, &error))
    JsonAnswer(200, "UP", "", answer);
  else
    JsonAnswer(503, "DOWN", ErrorText(error), answer);
}

}  // namespace spawn::gateway
