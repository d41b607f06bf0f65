-- 0007_active_strategy_snapshots.sql — seed table 7: one row per active strategy and day
-- with its equity, holdings and returns.
CREATE TABLE active_strategy_snapshots (
  id SERIAL PRIMARY KEY,
  active_strategy_id INTEGER NOT NULL REFERENCES active_strategies(id) ON DELETE CASCADE,

  -- Snapshot data
  snapshot_date DATE NOT NULL,
  equity DECIMAL(15, 2) NOT NULL,

  -- Holdings at this snapshot
  holdings JSONB,

  -- Daily metrics
  daily_return DECIMAL(10, 6),
  cumulative_return DECIMAL(10, 6),

  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,

  UNIQUE(active_strategy_id, snapshot_date)
);

CREATE INDEX idx_active_strategy_snapshots_active_strategy_id ON active_strategy_snapshots(active_strategy_id);
CREATE INDEX idx_active_strategy_snapshots_date ON active_strategy_snapshots(snapshot_date DESC);
