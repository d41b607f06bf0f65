-- 0054_batch_job_runs_metric_indexes.sql — expression indexes for the run listings sorted or
-- filtered by the most used metrics (GET /batch-jobs/{id}/runs?sort=-sharpe&where=…).
CREATE INDEX idx_batch_job_runs_total_return
  ON batch_job_runs (batch_job_id, ((metrics->>'total_return')::double precision));
CREATE INDEX idx_batch_job_runs_sharpe
  ON batch_job_runs (batch_job_id, ((metrics->>'sharpe')::double precision));
