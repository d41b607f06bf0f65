-- 0052_batch_jobs_started_at.sql — when a worker first claimed work of the job: the origin of
-- its runs-per-second figure and ETA.
ALTER TABLE batch_jobs ADD COLUMN started_at TIMESTAMP;
