-- When each family was revoked, so that a revocation can be forgotten once nothing of the
-- family is stored and no access token it issued can still be alive (REVOCATION_KEPT).
-- Revocations from before this migration count as made now.
ALTER TABLE revoked_families ADD COLUMN revoked_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE revoked_families ALTER COLUMN revoked_at DROP DEFAULT;
CREATE INDEX revoked_families_by_time ON revoked_families (revoked_at);
CREATE INDEX authorization_codes_by_family ON authorization_codes (family);
