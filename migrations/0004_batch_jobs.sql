-- 0004_batch_jobs.sql — seed table 4: batch backtest jobs (a strategy with variables,
-- expanded into many runs), their progress and summary.
CREATE TABLE batch_jobs (
  id VARCHAR(255) PRIMARY KEY,
  user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
  strategy_id INTEGER REFERENCES strategies(id) ON DELETE SET NULL,

  -- Job metadata
  name VARCHAR(500) NOT NULL,
  kind VARCHAR(50) NOT NULL DEFAULT 'server',  -- 'server' or 'local'
  status VARCHAR(50) NOT NULL,  -- 'queued', 'running', 'finished', 'failed'

  -- Progress tracking
  total INTEGER NOT NULL DEFAULT 0,
  completed INTEGER NOT NULL DEFAULT 0,

  -- Timestamps
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  completed_at TIMESTAMP,

  -- Error tracking
  error TEXT,
  truncated BOOLEAN NOT NULL DEFAULT FALSE,

  -- Variable definitions
  variables JSONB NOT NULL DEFAULT '[]',

  -- Strategy definition (base strategy before variable substitution)
  strategy_elements JSONB NOT NULL,

  -- Backtest configuration
  start_date DATE,
  end_date DATE,
  benchmark_symbol VARCHAR(50),

  -- Assignment preview (first 25 for UI display)
  assignments_preview JSONB,

  -- Results summary
  summary JSONB
);

CREATE INDEX idx_batch_jobs_user_id ON batch_jobs(user_id);
CREATE INDEX idx_batch_jobs_strategy_id ON batch_jobs(strategy_id);
CREATE INDEX idx_batch_jobs_status ON batch_jobs(status);
CREATE INDEX idx_batch_jobs_created_at ON batch_jobs(created_at DESC);

CREATE TRIGGER update_batch_jobs_updated_at BEFORE UPDATE ON batch_jobs
  FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
