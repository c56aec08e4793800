-- The algorithm that signs each client's ID tokens (IdTokenSigningAlgorithm, decision 44).
-- Clients stored before this migration keep RS256, which signed all ID tokens until then.
ALTER TABLE clients ADD COLUMN id_token_signing_alg TEXT NOT NULL DEFAULT 'RS256'
    CHECK (id_token_signing_alg IN ('RS256', 'ES256'));
