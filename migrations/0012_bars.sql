-- 0012_bars.sql — Lever: daily bars adjusted for splits and dividends, one row per symbol
-- and trading day. Prices are market data for computation (floats), not money. `source`
-- says where a row came from, so the UI can mark synthetic data.
CREATE TABLE bars (
  symbol VARCHAR(50) NOT NULL,
  day DATE NOT NULL,
  open DOUBLE PRECISION NOT NULL,
  high DOUBLE PRECISION NOT NULL,
  low DOUBLE PRECISION NOT NULL,
  close DOUBLE PRECISION NOT NULL,
  volume DOUBLE PRECISION NOT NULL,
  source VARCHAR(16) NOT NULL DEFAULT 'csv'
    CHECK (source IN ('csv', 'alpaca', 'synthetic')),
  PRIMARY KEY (symbol, day)
);
