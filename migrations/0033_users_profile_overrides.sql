-- 0033_users_profile_overrides.sql — Lever: remembers which profile fields the user set
-- through PATCH /api/v1/me, so that the next Discord login refreshes the others without
-- overwriting the user's own choice.
ALTER TABLE users
  ADD COLUMN username_set_by_user BOOLEAN NOT NULL DEFAULT FALSE,
  ADD COLUMN avatar_set_by_user BOOLEAN NOT NULL DEFAULT FALSE;
