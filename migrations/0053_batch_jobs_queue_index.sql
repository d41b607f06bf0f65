-- 0053_batch_jobs_queue_index.sql — workers look for jobs with work left, oldest first.
CREATE INDEX idx_batch_jobs_open ON batch_jobs (created_at) WHERE status IN ('queued', 'running');
