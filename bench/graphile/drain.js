// The peer baseline of bench/drain_bench.sh: drains N pre-enqueued jobs with graphile-worker,
// each job doing the counter update in SQL, and prints "<jobs> <seconds>".
// Usage: node drain.js CONNECTION_STRING JOBS CONCURRENCY
const { Logger, run, runMigrations } = require("graphile-worker");
const { Pool } = require("pg");

// Waits `ms` milliseconds.
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Enqueues the jobs, starts the worker pool, and times until the queue is empty.
async function main() {
  const [connectionString, jobsArg, concurrencyArg] = process.argv.slice(2);
  const jobs = Number(jobsArg);
  const concurrency = Number(concurrencyArg);
  const pool = new Pool({ connectionString, max: concurrency + 4 });
  await runMigrations({ connectionString, logger: new Logger(() => () => {}) });
  // Enqueued in transactions of 1,000 jobs (one huge transaction is much slower to add).
  for (let first = 0; first < jobs; first += 1000) {
    await pool.query(
      `SELECT count(graphile_worker.add_job('counter_update', json_build_object('id', 1 + (i % 1000))))
       FROM generate_series($1::int, $2::int) i`,
      [first, Math.min(first + 1000, jobs) - 1],
    );
  }
  const started = process.hrtime.bigint();
  const runner = await run({
    pgPool: pool,
    concurrency,
    noHandleSignals: true,
    pollInterval: 1000,
    logger: new Logger(() => () => {}),
    taskList: {
      counter_update: async (payload, helpers) => {
        await helpers.query("UPDATE counters SET total = total + 1 WHERE id = $1", [payload.id]);
      },
    },
  });
  for (;;) {
    const { rows } = await pool.query("SELECT count(*)::int AS n FROM graphile_worker.jobs");
    if (rows[0].n === 0) break;
    await sleep(50);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await runner.stop();
  await pool.end();
  console.log(`${jobs} ${seconds.toFixed(3)}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
