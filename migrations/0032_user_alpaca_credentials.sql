-- 0032_user_alpaca_credentials.sql — Lever: each user's Alpaca keys, one pair per mode.
-- The key id and the secret are sealed with XChaCha20-Poly1305 (nonce || ciphertext || tag,
-- key LEVER_SECRET_KEY); only the key id's last 4 characters are kept in clear, for display.
-- The seed's users.alpaca_api_*_encrypted columns are left unused.
CREATE TABLE user_alpaca_credentials (
  id SERIAL PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  mode VARCHAR(10) NOT NULL CHECK (mode IN ('paper', 'live')),

  key_id_sealed BYTEA NOT NULL,
  secret_sealed BYTEA NOT NULL,
  key_id_last4 VARCHAR(4) NOT NULL,

  saved_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  -- The outcome of the last GET /v2/account made with these keys: verified_at is the last
  -- success, verification_error the reason of the last failure (NULL after a success).
  verified BOOLEAN NOT NULL DEFAULT FALSE,
  verified_at TIMESTAMP,
  verification_error VARCHAR(255),

  UNIQUE (user_id, mode)
);
