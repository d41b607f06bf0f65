-- 0009_execution_orders.sql — seed table 9: every order placed for an active strategy,
-- followed to its final state.
CREATE TABLE execution_orders (
  id SERIAL PRIMARY KEY,
  active_strategy_id INTEGER NOT NULL REFERENCES active_strategies(id) ON DELETE CASCADE,

  -- Alpaca order details
  alpaca_order_id VARCHAR(255) UNIQUE,
  symbol VARCHAR(50) NOT NULL,
  side VARCHAR(10) NOT NULL,  -- 'buy' or 'sell'
  quantity DECIMAL(15, 6) NOT NULL,

  -- Order type and status
  order_type VARCHAR(50),  -- 'market', 'limit', etc.
  status VARCHAR(50),  -- 'pending', 'filled', 'cancelled', 'rejected'

  -- Pricing
  limit_price DECIMAL(15, 6),
  filled_price DECIMAL(15, 6),
  filled_quantity DECIMAL(15, 6),

  -- Timestamps
  submitted_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  filled_at TIMESTAMP,

  -- Error tracking
  error_message TEXT
);

CREATE INDEX idx_execution_orders_active_strategy_id ON execution_orders(active_strategy_id);
CREATE INDEX idx_execution_orders_alpaca_order_id ON execution_orders(alpaca_order_id);
CREATE INDEX idx_execution_orders_submitted_at ON execution_orders(submitted_at DESC);
