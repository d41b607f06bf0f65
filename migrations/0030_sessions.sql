-- 0030_sessions.sql — Lever: server-side login sessions. The browser holds a random token in
-- an HttpOnly cookie; only its SHA-256 is stored, so a database leak does not leak sessions.
CREATE TABLE sessions (
  id SERIAL PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_hash BYTEA NOT NULL UNIQUE,

  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  last_seen_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, -- idle expiry counts from here
  expires_at TIMESTAMP NOT NULL,                             -- absolute expiry
  revoked_at TIMESTAMP,                                      -- set by logout

  -- Shown to the user in a future "where am I logged in" list; never used for decisions.
  ip VARCHAR(64),
  user_agent VARCHAR(512)
);

CREATE INDEX idx_sessions_user_id ON sessions(user_id);
CREATE INDEX idx_sessions_expires_at ON sessions(expires_at);
