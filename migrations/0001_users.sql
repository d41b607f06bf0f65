-- 0001_users.sql — seed table 1: user accounts from Discord OAuth. Also creates
-- update_updated_at_column(), the trigger function every table with an updated_at uses.
CREATE OR REPLACE FUNCTION update_updated_at_column()
RETURNS TRIGGER AS $$
BEGIN
  NEW.updated_at = CURRENT_TIMESTAMP;
  RETURN NEW;
END;
$$ language 'plpgsql';

CREATE TABLE users (
  id SERIAL PRIMARY KEY,

  -- Discord OAuth
  discord_id VARCHAR(255) UNIQUE NOT NULL,
  username VARCHAR(255) NOT NULL,
  discriminator VARCHAR(10),
  email VARCHAR(255),
  avatar_url TEXT,

  -- Alpaca API credentials (encrypted)
  alpaca_api_key_encrypted TEXT,
  alpaca_api_secret_encrypted TEXT,

  -- Preferences
  preferences JSONB DEFAULT '{}',

  -- Timestamps
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  last_login_at TIMESTAMP
);

CREATE INDEX idx_users_discord_id ON users(discord_id);
CREATE INDEX idx_users_email ON users(email);

CREATE TRIGGER update_users_updated_at BEFORE UPDATE ON users
  FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
