// Batches of a gateway process: requests of the writing endpoints wait here, their connections
// suspended, until the event loop has read everything that was ready; then the next batch runs
// up to spawn.http_batch_size of them in one transaction (RunBatchTransaction) and answers
// them after the commit, so that they share one WAL flush instead of one each.
//
// Why the order is safe: the queue is in arrival order; a batch is its head, stably sorted by
// the actor each job writes, so requests on one actor run in arrival order (FIFO) and every
// batch of every process takes its actors' locks in the same order (no two batches wait for
// each other in a cycle). The jobs a batch had no time for (spawn.http_batch_time) are a
// suffix of that sorted order: they go back to the head of the queue, in arrival order, and
// a later request on the same actor cannot overtake them. A job marked alone (registration)
// runs in a batch of its own, and so does a synchronous call of an external host's action once
// it met a batch where it was not first (Job::deferred). When a commit fails, nothing of the batch
// was applied: each of its jobs runs again in a transaction of its own, so one request's failing
// commit (a deferred constraint, a serialization failure) fails only that request.
#include "bgworker/gateway_batch.hpp"

#include <algorithm>
#include <deque>
#include <vector>

#include "bgworker/gateway_stats.hpp"
#include "src/settings.hpp"

namespace spawn::gateway {

namespace {

// A queued ticket and its suspended connection.
struct Entry {
  MHD_Connection *connection;
  Ticket *ticket;
  uint64_t arrival;  // queue order
};

std::deque<Entry> queue;
uint64_t arrivals = 0;
int suspended = 0;  // connections suspended and not yet resumed

// Takes the next batch off the head of the queue: an alone job by itself, else up to
// spawn.http_batch_size jobs up to the next alone one.
std::vector<Entry> TakeBatch() {
  std::vector<Entry> batch;
  const size_t limit = static_cast<size_t>(std::max(setting_http_batch_size, 1));
  while (!queue.empty() && batch.size() < limit) {
    const bool alone = queue.front().ticket->job->alone;
    if (alone && !batch.empty()) break;
    batch.push_back(queue.front());
    queue.pop_front();
    if (alone) break;
  }
  std::stable_sort(batch.begin(), batch.end(), [](const Entry &a, const Entry &b) {
    return a.ticket->job->order < b.ticket->job->order;
  });
  return batch;
}

// Answers a ticket and resumes its connection, whose access handler then queues the answer.
void AnswerTicket(const Entry &entry, bool ok, const TxError &error) {
  Ticket *ticket = entry.ticket;
  try {
    ticket->job->Finish(ok, error, &ticket->answer);
  } catch (...) {  // out of memory while encoding: a bare 500
    ticket->answer = Answer{};
    ticket->answer.status = 500;
  }
  ticket->answered = true;
  MHD_resume_connection(entry.connection);
  --suspended;
}

// Runs one job in a transaction of its own and answers it.
void RunAlone(const Entry &entry) {
  Job *job = entry.ticket->job.get();
  JobOutcome outcome;
  bool committed;
  RunBatchTransaction(&job, 1, &outcome, &committed);
  AnswerTicket(entry, outcome.ok, outcome.error);
}

// Runs a batch, answers what ran, puts back what did not.
void RunNext() {
  MemoryContextReset(RequestContext());
  std::vector<Entry> batch = TakeBatch();
  if (batch.empty()) return;
  std::vector<Job *> jobs;
  jobs.reserve(batch.size());
  for (const Entry &entry : batch) jobs.push_back(entry.ticket->job.get());
  std::vector<JobOutcome> outcomes(batch.size());
  bool committed;
  const int ran =
      RunBatchTransaction(jobs.data(), static_cast<int>(jobs.size()), outcomes.data(), &committed);
  for (int i = 0; i < ran; ++i) {
    if (!committed && ran > 1)
      RunAlone(batch[i]);
    else
      AnswerTicket(batch[i], outcomes[i].ok, outcomes[i].error);
  }
  // A job that must be first of its batch (Job::deferred) runs next in a batch of its own, so
  // that no later batch sorts it behind others again.
  if (static_cast<size_t>(ran) < batch.size() && batch[ran].ticket->job->deferred)
    batch[ran].ticket->job->alone = true;
  std::vector<Entry> left(batch.begin() + ran, batch.end());
  std::sort(left.begin(), left.end(),
            [](const Entry &a, const Entry &b) { return a.arrival < b.arrival; });
  queue.insert(queue.begin(), left.begin(), left.end());
}

}  // namespace

// Queues the ticket and suspends its connection.
void BatchEnqueue(MHD_Connection *connection, Ticket *ticket) {
  queue.push_back(Entry{connection, ticket, arrivals++});
  MHD_suspend_connection(connection);
  ++suspended;
}

// True while any connection is suspended.
bool BatchHoldsConnections() {
  return suspended > 0;
}

// True when tickets wait.
bool BatchWaiting() {
  return !queue.empty();
}

// Runs the next batch; no exception leaves it (the worker's loop is the PG zone): out of
// memory here ends the process, whose clients then see their connections close.
void BatchRunNext() {
  bool failed = false;
  try {
    RunNext();
  } catch (...) {
    failed = true;
  }
  if (failed) ereport(FATAL, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
}

}  // namespace spawn::gateway
