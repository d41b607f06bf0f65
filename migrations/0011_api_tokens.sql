-- 0011_api_tokens.sql — Lever: named API tokens for scripts and the CLI. Only the SHA-256 of
-- the secret is stored; token_prefix is the token's visible start, shown to tell tokens apart.
CREATE TABLE api_tokens (
  id SERIAL PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name VARCHAR(255) NOT NULL,
  token_hash BYTEA NOT NULL UNIQUE,
  token_prefix VARCHAR(16) NOT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  last_used_at TIMESTAMP,
  expires_at TIMESTAMP,
  revoked_at TIMESTAMP
);

CREATE INDEX idx_api_tokens_user_id ON api_tokens(user_id);
