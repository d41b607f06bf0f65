-- 0051_batch_jobs_options.sql — the rest of a batch's run document besides its elements:
-- the strategy's top-level fields and the request's backtest options (§6), start_date and
-- end_date included as written (they may be date variables, which a DATE column cannot hold).
ALTER TABLE batch_jobs ADD COLUMN options JSONB NOT NULL DEFAULT '{}';
