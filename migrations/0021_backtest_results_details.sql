-- 0021_backtest_results_details.sql — Lever: the parts of a backtest result the seed's columns
-- do not hold (benchmark metrics and curve, warnings, window and its reason, timing), so a
-- stored backtest can be shown again exactly as it was returned.
ALTER TABLE backtest_results ADD COLUMN details JSONB;
