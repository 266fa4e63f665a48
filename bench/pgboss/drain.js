// A peer baseline of bench/drain_bench.sh: drains N pre-enqueued jobs with pg-boss's batch API
// (work() with batchSize: the handler gets up to that many jobs at once and updates their
// counters in one statement, pg-boss's best case), and prints "<jobs> <seconds>".
// Usage: node drain.js CONNECTION_STRING JOBS WORKERS BATCH_SIZE
const PgBoss = require("pg-boss");
const { Pool } = require("pg");

const queue = "counter_update";

// Waits `ms` milliseconds.
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Enqueues the jobs, starts WORKERS batch workers, and times until every job is completed.
async function main() {
  const [connectionString, jobsArg, workersArg, batchArg] = process.argv.slice(2);
  const jobs = Number(jobsArg);
  const workers = Number(workersArg);
  const batchSize = Number(batchArg);
  const boss = new PgBoss({ connectionString, max: workers + 4, supervise: false, schedule: false });
  boss.on("error", (error) => console.error(error));
  await boss.start();
  await boss.createQueue(queue);
  // Enqueued 1,000 jobs per insert (pg-boss's bulk insert).
  for (let first = 0; first < jobs; first += 1000) {
    const chunk = [];
    for (let i = first; i < Math.min(first + 1000, jobs); ++i)
      chunk.push({ name: queue, data: { id: 1 + (i % 1000) } });
    await boss.insert(chunk);
  }
  const pool = new Pool({ connectionString, max: workers + 1 });
  const started = process.hrtime.bigint();
  for (let w = 0; w < workers; ++w) {
    await boss.work(queue, { batchSize, pollingIntervalSeconds: 0.5 }, async (batch) => {
      await pool.query(
        `UPDATE counters c SET total = total + j.n
         FROM (SELECT id, count(*) AS n FROM unnest($1::int[]) id GROUP BY id) j WHERE c.id = j.id`,
        [batch.map((job) => job.data.id)],
      );
    });
  }
  for (;;) {
    const { rows } = await pool.query(
      "SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state <> 'completed'",
      [queue],
    );
    if (rows[0].n === 0) break;
    await sleep(50);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await boss.stop({ graceful: false, wait: false });
  await pool.end();
  console.log(`${jobs} ${seconds.toFixed(3)}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
