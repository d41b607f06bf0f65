-- 0008_variable_lists.sql — seed table 8: saved variable lists (tickers, numbers or dates)
-- for batch testing, unique by name per user.
CREATE TABLE variable_lists (
  id SERIAL PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,

  -- Variable definition
  name VARCHAR(255) NOT NULL,  -- e.g., "tech_tickers", "rsi_periods"
  type VARCHAR(50) NOT NULL,   -- 'ticker', 'number', 'date'

  -- Values
  values JSONB NOT NULL DEFAULT '[]',

  -- Metadata
  description TEXT,
  is_shared BOOLEAN DEFAULT FALSE,

  -- Timestamps
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,

  UNIQUE(user_id, name)
);

CREATE INDEX idx_variable_lists_user_id ON variable_lists(user_id);

CREATE TRIGGER update_variable_lists_updated_at BEFORE UPDATE ON variable_lists
  FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
