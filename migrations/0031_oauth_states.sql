-- 0031_oauth_states.sql — Lever: the OAuth2 `state` values of logins in progress. Each is
-- single use (deleted when the callback consumes it) and short-lived; stored hashed.
CREATE TABLE oauth_states (
  state_hash BYTEA PRIMARY KEY,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  expires_at TIMESTAMP NOT NULL
);

CREATE INDEX idx_oauth_states_expires_at ON oauth_states(expires_at);
