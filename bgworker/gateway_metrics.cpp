// GET /metrics: the gateway's shared counters, then what the database says as spawn.http_role
// sees it (mailbox depth and dead letters of the actors it holds a privilege on, the
// scheduler's workers, the hosts it may bind), in Prometheus' text format.
#include "bgworker/gateway.hpp"
#include "bgworker/gateway_stats.hpp"

extern "C" {
#include "executor/spi.h"
}

namespace spawn::gateway {

namespace {

// One row of a query: its text columns, copied into the request's context.
struct Rows {
  int count = 0;
  int columns = 0;
  char **cells = nullptr;  // count * columns, NULL for SQL NULL
};

// What the metrics query reads.
struct MetricsWork {
  Rows mailbox, scheduler, hosts;
};

// Runs `sql` and copies its rows (as text) into *rows.
void Collect(const char *sql, Rows *rows) {
  if (SPI_execute(sql, true, 0) != SPI_OK_SELECT) elog(ERROR, "spawn: metrics query failed");
  rows->count = static_cast<int>(SPI_processed);
  rows->columns = SPI_tuptable->tupdesc->natts;
  rows->cells = static_cast<char **>(MemoryContextAllocZero(
      RequestContext(), sizeof(char *) * Max(rows->count * rows->columns, 1)));
  for (int r = 0; r < rows->count; ++r)
    for (int c = 0; c < rows->columns; ++c)
      rows->cells[r * rows->columns + c] =
          RequestCopy(SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, c + 1));
}

// The database's part (PG zone).
void ReadDatabase(void *arg) {
  auto *work = static_cast<MetricsWork *>(arg);
  Collect(
      "SELECT system, sum(pending + scheduled + retrying), sum(dead_letters) "
      "FROM spawn.mailbox_stats GROUP BY system ORDER BY system",
      &work->mailbox);
  Collect("SELECT workers_configured, workers_running, launcher_running::int FROM spawn.scheduler",
          &work->scheduler);
  Collect(
      "SELECT name, calls, failures, "
      "(last_error_at IS NULL OR last_error_at < now() - interval '1 minute' OR "
      " updated_at > last_error_at)::int "
      "FROM spawn.hosts ORDER BY name",
      &work->hosts);
}

// Appends a label value with Prometheus' escapes.
std::string Label(const char *value) {
  std::string out;
  for (const char *c = value; c != nullptr && *c; ++c) {
    if (*c == '\\' || *c == '"') out.push_back('\\');
    if (*c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(*c);
  }
  return out;
}

// The cell, or "0" for NULL.
const char *Cell(const Rows &rows, int row, int column) {
  const char *cell = rows.cells[row * rows.columns + column];
  return cell != nullptr ? cell : "0";
}

// Appends a family of one gauge or counter per row, labelled by column 0.
void PerRow(std::string *out, const Rows &rows, const char *name, const char *type,
            const char *help, const char *label, int column) {
  *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  for (int r = 0; r < rows.count; ++r)
    *out += std::string(name) + "{" + label + "=\"" + Label(Cell(rows, r, 0)) + "\"} " +
            Cell(rows, r, column) + "\n";
}

}  // namespace

// Serves GET /metrics.
void ServeMetrics(Answer *answer) {
  std::string body;
  StatsFormat(&body);
  MetricsWork work;
  TxError error;
  if (!RunRequestTransaction("gateway metrics", ReadDatabase, &work, &error)) {
    body += "# the database's metrics are missing: " + Label(ErrorText(error).c_str()) + "\n";
  } else {
    PerRow(&body, work.mailbox, "spawn_mailbox_depth", "gauge",
           "Messages waiting (pending, scheduled, retrying) per system.", "system", 1);
    PerRow(&body, work.mailbox, "spawn_dead_letters", "gauge", "Dead letters per system.", "system",
           2);
    if (work.scheduler.count == 1) {
      body +=
          "# HELP spawn_workers_configured Mailbox workers configured (spawn.workers).\n"
          "# TYPE spawn_workers_configured gauge\nspawn_workers_configured " +
          std::string(Cell(work.scheduler, 0, 0)) +
          "\n# HELP spawn_workers_running Mailbox workers running.\n"
          "# TYPE spawn_workers_running gauge\nspawn_workers_running " +
          Cell(work.scheduler, 0, 1) +
          "\n# HELP spawn_launcher_up 1 while the scheduler's launcher runs.\n"
          "# TYPE spawn_launcher_up gauge\nspawn_launcher_up " +
          Cell(work.scheduler, 0, 2) + "\n";
    }
    PerRow(&body, work.hosts, "spawn_host_calls_total", "counter",
           "Calls to each external actor host since the server started.", "host", 1);
    PerRow(&body, work.hosts, "spawn_host_failures_total", "counter",
           "Failed calls to each external actor host.", "host", 2);
    PerRow(&body, work.hosts, "spawn_host_up", "gauge",
           "0 when the host's last call in the past minute failed.", "host", 3);
  }
  answer->status = 200;
  answer->body = body;
  answer->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

}  // namespace spawn::gateway
