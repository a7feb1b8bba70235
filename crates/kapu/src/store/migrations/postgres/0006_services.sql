-- OpenID Connect as careful services need it (docs/oidc.md): one client
-- authentication method per service, single logout, pushed authorization
-- requests, the FAPI 2.0 baseline, CORS origins, key pre-publication.

-- Fixed at registration: client_secret_basic, client_secret_post,
-- private_key_jwt or none (a public client with PKCE).
ALTER TABLE oidc_clients ADD COLUMN auth_method TEXT NOT NULL DEFAULT 'client_secret_basic';
UPDATE oidc_clients SET auth_method = CASE
    WHEN jwks IS NOT NULL THEN 'private_key_jwt'
    WHEN confidential THEN 'client_secret_basic'
    ELSE 'none' END;
-- OpenID Connect Back-Channel Logout 1.0: where logout tokens go.
ALTER TABLE oidc_clients ADD COLUMN backchannel_logout_uri TEXT;
-- Origins (JSON list) a browser application of the service runs on (CORS).
ALTER TABLE oidc_clients ADD COLUMN web_origins TEXT NOT NULL DEFAULT '[]';
-- Authorization requests only through /par (RFC 9126).
ALTER TABLE oidc_clients ADD COLUMN par_required BOOLEAN NOT NULL DEFAULT FALSE;
-- The FAPI 2.0 Security Profile baseline (PAR, PKCE, private_key_jwt).
ALTER TABLE oidc_clients ADD COLUMN fapi2 BOOLEAN NOT NULL DEFAULT FALSE;

-- A new key is published before it signs (services fetch the JWKS ahead).
ALTER TABLE oidc_signing_keys ADD COLUMN active_from BIGINT NOT NULL DEFAULT 0;
UPDATE oidc_signing_keys SET active_from = created_at;

-- A session's public id (the ID token's sid): kept when the session's
-- cookie token is renewed, never the token or its hash.
ALTER TABLE sessions ADD COLUMN sid TEXT NOT NULL DEFAULT '';
UPDATE sessions SET sid = substr(id_hash, 1, 32);
CREATE INDEX sessions_sid ON sessions (sid);

-- The services a session logged into that want a back-channel logout. Once
-- the session is gone (logout, expiry, a security action), a worker POSTs a
-- logout token to each and deletes the row; failures wait and are retried.
CREATE TABLE oidc_session_clients (
    sid              TEXT NOT NULL,
    client_id        TEXT NOT NULL REFERENCES oidc_clients (client_id) ON DELETE CASCADE,
    -- Not a foreign key: a deleted account's services are told too.
    account_id       TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    next_attempt_at  BIGINT NOT NULL DEFAULT 0,
    attempts         BIGINT NOT NULL DEFAULT 0,
    claimed_until    BIGINT NOT NULL DEFAULT 0,
    last_error       TEXT,
    PRIMARY KEY (sid, client_id)
);

-- Pushed authorization requests (RFC 9126), used once, for a minute.
CREATE TABLE oidc_par_requests (
    id_hash     TEXT PRIMARY KEY NOT NULL,
    client_id   TEXT NOT NULL REFERENCES oidc_clients (client_id) ON DELETE CASCADE,
    request     TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX oidc_par_requests_expiry ON oidc_par_requests (expires_at);

-- private_key_jwt assertions seen, until they expire: each is used once.
CREATE TABLE oidc_assertion_jtis (
    client_id   TEXT NOT NULL,
    jti         TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX oidc_assertion_jtis_expiry ON oidc_assertion_jtis (expires_at);

-- What a code carries to its ID token: the acr value in the form the
-- service asked for, the session's sid, and claims asked for one by one.
ALTER TABLE oidc_codes ADD COLUMN acr TEXT NOT NULL DEFAULT '';
ALTER TABLE oidc_codes ADD COLUMN sid TEXT NOT NULL DEFAULT '';
ALTER TABLE oidc_codes ADD COLUMN claims TEXT NOT NULL DEFAULT '{}';
ALTER TABLE oidc_access_tokens ADD COLUMN claims TEXT NOT NULL DEFAULT '{}';
