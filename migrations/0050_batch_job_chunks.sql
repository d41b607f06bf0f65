-- 0050_batch_job_chunks.sql — the batch queue: each job's runs split into chunks that workers
-- claim (FOR UPDATE SKIP LOCKED) under a lease they renew; an expired lease is re-claimed.
CREATE TABLE batch_job_chunks (
  batch_job_id VARCHAR(255) NOT NULL REFERENCES batch_jobs(id) ON DELETE CASCADE,
  chunk_index INTEGER NOT NULL,

  -- Runs [first_run, end_run) of the job, in odometer order
  first_run INTEGER NOT NULL,
  end_run INTEGER NOT NULL,

  -- 'pending' (never claimed), 'claimed' (a worker holds the lease), 'done' (runs stored)
  status VARCHAR(20) NOT NULL DEFAULT 'pending',
  claimed_by VARCHAR(255),
  lease_expires_at TIMESTAMPTZ,
  attempts INTEGER NOT NULL DEFAULT 0,
  completed_at TIMESTAMPTZ,

  PRIMARY KEY (batch_job_id, chunk_index),
  CHECK (status IN ('pending', 'claimed', 'done')),
  CHECK (first_run < end_run)
);

-- Claiming scans only the chunks still to do.
CREATE INDEX idx_batch_job_chunks_open ON batch_job_chunks (batch_job_id, chunk_index)
  WHERE status <> 'done';
