-- 0005_batch_job_runs.sql — seed table 5: one row per run of a batch job (its variable
-- assignment and metrics); UNIQUE(batch_job_id, run_index) keeps a run from being written twice.
CREATE TABLE batch_job_runs (
  id SERIAL PRIMARY KEY,
  batch_job_id VARCHAR(255) NOT NULL REFERENCES batch_jobs(id) ON DELETE CASCADE,

  -- Run identification
  run_index INTEGER NOT NULL,

  -- Variable assignments for this run
  variables JSONB NOT NULL,

  -- Metrics for this run
  metrics JSONB NOT NULL,

  -- Timestamps
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,

  UNIQUE(batch_job_id, run_index)
);

CREATE INDEX idx_batch_job_runs_batch_job_id ON batch_job_runs(batch_job_id);
CREATE INDEX idx_batch_job_runs_metrics ON batch_job_runs USING GIN(metrics);
