// The queue of requests waiting for a batch, and the batches themselves (gateway_batch.cpp).
#pragma once

#include <microhttpd.h>

#include <memory>

#include "bgworker/gateway.hpp"

namespace spawn::gateway {

// A request of a writing endpoint from the moment it is queued until it is answered: its job
// and, once the batch is over, its answer. Part of the connection's state.
struct Ticket {
  std::unique_ptr<Job> job;
  Answer answer;
  bool answered = false;
};

// Queues a ticket whose job is set and suspends its connection until the ticket is answered.
void BatchEnqueue(MHD_Connection *connection, Ticket *ticket);

// True when tickets wait for a batch.
bool BatchWaiting();

// True while a connection is suspended (queued, or in the running batch): libmicrohttpd cannot
// stop a daemon then.
bool BatchHoldsConnections();

// Runs the next batch: answers its tickets and resumes their connections; the tickets the
// batch had no time for wait, first in line, for the next one.
void BatchRunNext();

}  // namespace spawn::gateway
