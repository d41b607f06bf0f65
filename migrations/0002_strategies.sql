-- 0002_strategies.sql — seed table 2: user-created strategies (the elements document),
-- with their backtest defaults, tags and visibility.
CREATE TABLE strategies (
  id SERIAL PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,

  -- Strategy metadata
  name VARCHAR(500) NOT NULL,
  description TEXT,

  -- Strategy definition (elements array)
  elements JSONB NOT NULL DEFAULT '[]',

  -- Backtest configuration
  benchmark_symbol VARCHAR(50) DEFAULT 'SPY',
  start_date DATE,
  end_date DATE,

  -- Tags/categorization
  tags VARCHAR(255)[],

  -- Sharing/visibility
  is_public BOOLEAN DEFAULT FALSE,
  is_archived BOOLEAN DEFAULT FALSE,

  -- Timestamps
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX idx_strategies_user_id ON strategies(user_id);
CREATE INDEX idx_strategies_created_at ON strategies(created_at DESC);
CREATE INDEX idx_strategies_is_public ON strategies(is_public) WHERE is_public = TRUE;
CREATE INDEX idx_strategies_tags ON strategies USING GIN(tags);

CREATE TRIGGER update_strategies_updated_at BEFORE UPDATE ON strategies
  FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
