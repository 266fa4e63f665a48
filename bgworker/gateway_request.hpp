// The callbacks given to libmicrohttpd: the access handler and the completion callback.
#pragma once

#include <microhttpd.h>

namespace spawn::gateway {

// Routes, collects the body, serves and answers one request (MHD_AccessHandlerCallback).
MHD_Result AccessHandler(void *cls, MHD_Connection *connection, const char *url, const char *method,
                         const char *version, const char *upload_data, size_t *upload_data_size,
                         void **state);

// Frees the request's collected state (MHD_RequestCompletedCallback).
void RequestCompleted(void *cls, MHD_Connection *connection, void **state,
                      MHD_RequestTerminationCode code);

}  // namespace spawn::gateway
