-- 0003_backtest_results.sql — seed table 3: the history of single backtests, each with a
-- snapshot of the strategy it ran and its metrics, equity curve and positions.
CREATE TABLE backtest_results (
  id SERIAL PRIMARY KEY,
  strategy_id INTEGER REFERENCES strategies(id) ON DELETE SET NULL,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,

  -- Backtest configuration
  start_date DATE NOT NULL,
  end_date DATE NOT NULL,
  benchmark_symbol VARCHAR(50),

  -- Strategy snapshot (in case strategy was modified later)
  strategy_elements JSONB NOT NULL,

  -- Results
  metrics JSONB NOT NULL,
  equity_curve JSONB,
  positions JSONB,

  -- Timestamps
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX idx_backtest_results_user_id ON backtest_results(user_id);
CREATE INDEX idx_backtest_results_strategy_id ON backtest_results(strategy_id);
CREATE INDEX idx_backtest_results_created_at ON backtest_results(created_at DESC);
