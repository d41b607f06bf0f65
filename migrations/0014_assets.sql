-- 0014_assets.sql — Lever: symbol metadata from Alpaca /v2/assets; fractionable decides
-- between fractional and whole-share orders.
CREATE TABLE assets (
  symbol VARCHAR(50) PRIMARY KEY,
  name VARCHAR(255),
  exchange VARCHAR(50),
  fractionable BOOLEAN NOT NULL DEFAULT FALSE,
  tradable BOOLEAN NOT NULL DEFAULT TRUE,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TRIGGER update_assets_updated_at BEFORE UPDATE ON assets
  FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
