-- 0020_market_data_version.sql — Lever: a counter bumped by every statement that changes
-- `bars`, so each process can tell cheaply whether its in-memory market is stale.
CREATE TABLE market_data_version (
  id BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
  version BIGINT NOT NULL DEFAULT 0
);
INSERT INTO market_data_version (id, version) VALUES (TRUE, 0);

CREATE FUNCTION bump_market_data_version() RETURNS TRIGGER AS $$
BEGIN
  UPDATE market_data_version SET version = version + 1;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER bars_changed AFTER INSERT OR UPDATE OR DELETE ON bars
  FOR EACH STATEMENT EXECUTE FUNCTION bump_market_data_version();
CREATE TRIGGER bars_truncated AFTER TRUNCATE ON bars
  FOR EACH STATEMENT EXECUTE FUNCTION bump_market_data_version();
