-- 0006_active_strategies.sql — seed table 6: strategies deployed to paper or live trading,
-- with their capital and rebalancing schedule.
CREATE TABLE active_strategies (
  id SERIAL PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  strategy_id INTEGER NOT NULL REFERENCES strategies(id) ON DELETE CASCADE,

  -- Execution mode
  mode VARCHAR(50) NOT NULL,  -- 'paper' or 'live'

  -- Status
  status VARCHAR(50) NOT NULL DEFAULT 'active',  -- 'active', 'paused', 'stopped'

  -- Capital allocation
  initial_capital DECIMAL(15, 2) NOT NULL,
  current_capital DECIMAL(15, 2),

  -- Timestamps
  started_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  stopped_at TIMESTAMP,
  last_rebalance_at TIMESTAMP,

  -- Rebalancing schedule
  rebalance_frequency VARCHAR(50),  -- 'daily', 'weekly', 'monthly'
  rebalance_time TIME,  -- e.g., '15:45:00' for 3:45 PM

  UNIQUE(user_id, strategy_id, mode)
);

CREATE INDEX idx_active_strategies_user_id ON active_strategies(user_id);
CREATE INDEX idx_active_strategies_status ON active_strategies(status);
