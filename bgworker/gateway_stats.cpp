// A fixed table of invocation series keyed by (system, kind) under one spinlock held only to
// add to a few counters or copy the table; series beyond kMaxSeries are counted under system
// "(other)". The latency histogram uses Prometheus' cumulative buckets.
#include "bgworker/gateway_stats.hpp"

#include <cstdio>
#include <memory>

#include "src/settings.hpp"

extern "C" {
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
}

namespace spawn::gateway {

namespace {

constexpr int kMaxSeries = 256;
constexpr double kBuckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                               0.1,    0.25,  0.5,    1,     2.5,  5,     10};
constexpr int kBucketCount = sizeof kBuckets / sizeof kBuckets[0];
constexpr int kEndpoints = 6;  // register, spawn, invoke, health, metrics, other
constexpr int kClasses = 5;    // 1xx..5xx

struct Series {
  char system[NAMEDATALEN];
  char kind[16];
  uint64 ok, errors;
  uint64 buckets[kBucketCount];  // not cumulative here
  double sum;
};

struct Stats {
  slock_t lock;
  uint64 requests[kEndpoints][kClasses];
  uint64 registrations_ok, registrations_failed;
  int pids[kMaxHttpWorkers];
  uint64 starts[kMaxHttpWorkers];
  int series_used;
  Series series[kMaxSeries];
};

Stats *stats = nullptr;
shmem_request_hook_type previous_request_hook = nullptr;
shmem_startup_hook_type previous_startup_hook = nullptr;

const char *const kEndpointNames[kEndpoints] = {"register", "spawn",   "invoke",
                                                "health",   "metrics", "other"};

// Asks for the table's shared memory.
void RequestStats() {
  if (previous_request_hook) previous_request_hook();
  RequestAddinShmemSpace(MAXALIGN(sizeof(Stats)));
}

// Creates (or attaches to) the table.
void StartupStats() {
  if (previous_startup_hook) previous_startup_hook();
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  bool found;
  stats = static_cast<Stats *>(ShmemInitStruct("spawn gateway stats", sizeof(Stats), &found));
  if (!found) {
    memset(stats, 0, sizeof *stats);
    SpinLockInit(&stats->lock);
  }
  LWLockRelease(AddinShmemInitLock);
}

// The index of an endpoint's label.
int EndpointIndex(Endpoint endpoint) {
  const char *name = EndpointName(endpoint);
  for (int i = 0; i < kEndpoints; ++i)
    if (strcmp(kEndpointNames[i], name) == 0) return i;
  return kEndpoints - 1;
}

// The series of (system, kind), claimed when new, else the overflow series. Spinlock held.
Series *FindSeries(const char *system, const char *kind) {
  for (int i = 0; i < stats->series_used; ++i)
    if (strcmp(stats->series[i].system, system) == 0 && strcmp(stats->series[i].kind, kind) == 0)
      return &stats->series[i];
  if (stats->series_used < kMaxSeries - 1) {
    Series *series = &stats->series[stats->series_used++];
    strlcpy(series->system, system, sizeof series->system);
    strlcpy(series->kind, kind, sizeof series->kind);
    return series;
  }
  Series *overflow = &stats->series[kMaxSeries - 1];
  strlcpy(overflow->system, "(other)", sizeof overflow->system);
  strlcpy(overflow->kind, "(other)", sizeof overflow->kind);
  stats->series_used = kMaxSeries;
  return overflow;
}

// Appends a label value with Prometheus' escapes (backslash, quote, newline).
void AppendLabel(std::string *out, const char *value) {
  for (const char *c = value; *c; ++c) {
    if (*c == '\\' || *c == '"') out->push_back('\\');
    if (*c == '\n') {
      *out += "\\n";
      continue;
    }
    out->push_back(*c);
  }
}

// Appends one sample line.
void Sample(std::string *out, const char *name, const std::string &labels, double value) {
  char number[64];
  snprintf(number, sizeof number, "%.17g", value);
  *out += name;
  if (!labels.empty()) *out += "{" + labels + "}";
  *out += " ";
  *out += number;
  *out += "\n";
}

// Appends the HELP and TYPE lines of a family.
void Family(std::string *out, const char *name, const char *type, const char *help) {
  *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

// The labels system="...",kind="..." of a series.
std::string SeriesLabels(const Series &series) {
  std::string labels = "system=\"";
  AppendLabel(&labels, series.system);
  labels += "\",kind=\"";
  AppendLabel(&labels, series.kind);
  return labels + "\"";
}

}  // namespace

// Installs the hooks.
void StatsInstallHooks() {
  previous_request_hook = shmem_request_hook;
  shmem_request_hook = RequestStats;
  previous_startup_hook = shmem_startup_hook;
  shmem_startup_hook = StartupStats;
}

// Counts a request by endpoint and status class.
void StatsRecordRequest(Endpoint endpoint, unsigned int status) {
  if (stats == nullptr) return;
  const int cls = status >= 100 && status < 600 ? static_cast<int>(status / 100) - 1 : 4;
  SpinLockAcquire(&stats->lock);
  stats->requests[EndpointIndex(endpoint)][cls] += 1;
  SpinLockRelease(&stats->lock);
}

// Counts an invocation into its series and histogram.
void StatsRecordInvocation(const char *system, const char *kind, bool ok, double seconds) {
  if (stats == nullptr) return;
  int bucket = 0;
  while (bucket < kBucketCount && seconds > kBuckets[bucket]) ++bucket;
  SpinLockAcquire(&stats->lock);
  Series *series = FindSeries(system, kind);
  (ok ? series->ok : series->errors) += 1;
  if (bucket < kBucketCount) series->buckets[bucket] += 1;
  series->sum += seconds;
  SpinLockRelease(&stats->lock);
}

// Counts a registration.
void StatsRecordRegistration(bool ok) {
  if (stats == nullptr) return;
  SpinLockAcquire(&stats->lock);
  (ok ? stats->registrations_ok : stats->registrations_failed) += 1;
  SpinLockRelease(&stats->lock);
}

// Records a gateway process.
void StatsRecordProcess(int index, int pid) {
  if (stats == nullptr || index < 0 || index >= kMaxHttpWorkers) return;
  SpinLockAcquire(&stats->lock);
  stats->pids[index] = pid;
  if (pid != 0) stats->starts[index] += 1;
  SpinLockRelease(&stats->lock);
}

// Formats a copy of the table.
void StatsFormat(std::string *out) {
  if (stats == nullptr) return;
  auto copy = std::make_unique<Stats>();
  SpinLockAcquire(&stats->lock);
  memcpy(copy.get(), stats, sizeof(Stats));
  SpinLockRelease(&stats->lock);
  const Stats &s = *copy;
  Family(out, "spawn_gateway_requests_total", "counter",
         "HTTP requests answered, by endpoint and status class.");
  for (int e = 0; e < kEndpoints; ++e)
    for (int c = 0; c < kClasses; ++c)
      if (s.requests[e][c] > 0)
        Sample(out, "spawn_gateway_requests_total",
               std::string("endpoint=\"") + kEndpointNames[e] + "\",code=\"" +
                   std::to_string(c + 1) + "xx\"",
               static_cast<double>(s.requests[e][c]));
  Family(out, "spawn_gateway_registrations_total", "counter", "Host registrations, by outcome.");
  Sample(out, "spawn_gateway_registrations_total", "outcome=\"ok\"",
         static_cast<double>(s.registrations_ok));
  Sample(out, "spawn_gateway_registrations_total", "outcome=\"error\"",
         static_cast<double>(s.registrations_failed));
  Family(out, "spawn_gateway_invocations_total", "counter",
         "Invocations through the gateway, by system, actor kind and outcome.");
  for (int i = 0; i < s.series_used; ++i) {
    const std::string labels = SeriesLabels(s.series[i]);
    Sample(out, "spawn_gateway_invocations_total", labels + ",outcome=\"ok\"",
           static_cast<double>(s.series[i].ok));
    Sample(out, "spawn_gateway_invocations_total", labels + ",outcome=\"error\"",
           static_cast<double>(s.series[i].errors));
  }
  Family(out, "spawn_gateway_invocation_duration_seconds", "histogram",
         "Latency of invocations through the gateway, by system and actor kind.");
  for (int i = 0; i < s.series_used; ++i) {
    const Series &series = s.series[i];
    const std::string labels = SeriesLabels(series);
    uint64 cumulative = 0;
    for (int b = 0; b < kBucketCount; ++b) {
      cumulative += series.buckets[b];
      char le[32];
      snprintf(le, sizeof le, "%g", kBuckets[b]);
      Sample(out, "spawn_gateway_invocation_duration_seconds_bucket", labels + ",le=\"" + le + "\"",
             static_cast<double>(cumulative));
    }
    const uint64 count = series.ok + series.errors;
    Sample(out, "spawn_gateway_invocation_duration_seconds_bucket", labels + ",le=\"+Inf\"",
           static_cast<double>(count));
    Sample(out, "spawn_gateway_invocation_duration_seconds_sum", labels, series.sum);
    Sample(out, "spawn_gateway_invocation_duration_seconds_count", labels,
           static_cast<double>(count));
  }
  const int processes = Min(setting_http_workers, kMaxHttpWorkers);
  Family(out, "spawn_gateway_process_up", "gauge", "1 while gateway process N runs.");
  for (int i = 0; i < processes; ++i)
    Sample(out, "spawn_gateway_process_up", "process=\"" + std::to_string(i) + "\"",
           s.pids[i] != 0 && kill(s.pids[i], 0) == 0 ? 1 : 0);
  Family(out, "spawn_gateway_process_starts_total", "counter",
         "Starts of gateway process N since the server started (more than 1: restarted).");
  for (int i = 0; i < processes; ++i)
    Sample(out, "spawn_gateway_process_starts_total", "process=\"" + std::to_string(i) + "\"",
           static_cast<double>(s.starts[i]));
}

}  // namespace spawn::gateway
