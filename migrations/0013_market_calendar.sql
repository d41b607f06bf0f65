-- 0013_market_calendar.sql — Lever: the exchange's trading days with their open and close
-- times in UTC (cached from Alpaca /v2/calendar); early_close marks shortened sessions.
CREATE TABLE market_calendar (
  day DATE PRIMARY KEY,
  open_at TIMESTAMP NOT NULL,
  close_at TIMESTAMP NOT NULL,
  early_close BOOLEAN NOT NULL DEFAULT FALSE
);
