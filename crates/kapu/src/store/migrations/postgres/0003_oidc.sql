-- OpenID Connect: registered services, signing keys, pending authorization
-- requests, codes and access tokens. Secrets, codes and tokens are stored
-- only as SHA-256 (they carry 256 random bits); private keys are sealed.

CREATE TABLE oidc_clients (
    client_id                  TEXT PRIMARY KEY NOT NULL,
    name                       TEXT NOT NULL,
    redirect_uris              TEXT NOT NULL,
    post_logout_redirect_uris  TEXT NOT NULL,
    confidential               BOOLEAN NOT NULL,
    secret_hash                TEXT,
    jwks                       TEXT,
    id_token_alg               TEXT NOT NULL CHECK (id_token_alg IN ('ES256', 'RS256')),
    required_level             TEXT NOT NULL CHECK (required_level IN ('password', 'two_step')),
    created_at                 BIGINT NOT NULL
);

CREATE TABLE oidc_signing_keys (
    kid             TEXT PRIMARY KEY NOT NULL,
    alg             TEXT NOT NULL,
    private_sealed  BYTEA NOT NULL,
    public_jwk      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    retired_at      BIGINT
);

CREATE TABLE oidc_auth_requests (
    id_hash     TEXT PRIMARY KEY NOT NULL,
    request     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE TABLE oidc_codes (
    code_hash       TEXT PRIMARY KEY NOT NULL,
    client_id       TEXT NOT NULL REFERENCES oidc_clients (client_id) ON DELETE CASCADE,
    account_id      TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    redirect_uri    TEXT NOT NULL,
    scope           TEXT NOT NULL,
    nonce           TEXT,
    code_challenge  TEXT,
    auth_time       BIGINT NOT NULL,
    level           TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    -- Set at the first exchange; a second exchange finds it set and revokes
    -- the tokens issued from this code.
    used_at         BIGINT
);

CREATE TABLE oidc_access_tokens (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    client_id   TEXT NOT NULL REFERENCES oidc_clients (client_id) ON DELETE CASCADE,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    scope       TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX oidc_access_tokens_code ON oidc_access_tokens (code_hash);
