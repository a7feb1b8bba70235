-- Ügyfélkapu+: TOTP credentials, set-ups in progress, half-finished logins.
-- Secrets are sealed with XChaCha20-Poly1305 under a key outside the database
-- (associated data: the account id). The revocation code is stored only as an
-- Argon2id hash.

CREATE TABLE totp_credentials (
    account_id          TEXT PRIMARY KEY NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    secret_sealed       BLOB NOT NULL,
    algorithm           TEXT NOT NULL,
    digits              BIGINT NOT NULL,
    period              BIGINT NOT NULL,
    revocation_hash     TEXT NOT NULL,
    -- The newest time step accepted: a step is never accepted twice.
    last_used_step      BIGINT NOT NULL DEFAULT -1,
    -- Consecutive wrong codes; only a correct code resets them.
    failed_codes        BIGINT NOT NULL DEFAULT 0,
    code_blocked_until  BIGINT NOT NULL DEFAULT 0,
    code_locked         BOOLEAN NOT NULL DEFAULT FALSE,
    enabled_at          BIGINT NOT NULL
);

-- A set-up (or device change) in progress: the pending key lives here, never
-- in a form field. Confirmed once password and code were right; the
-- revocation code is kept sealed only until the user finishes.
CREATE TABLE totp_enrolments (
    account_id          TEXT PRIMARY KEY NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    purpose             TEXT NOT NULL CHECK (purpose IN ('setup', 'device_change')),
    secret_sealed       BLOB NOT NULL,
    confirmed_step      BIGINT,
    revocation_sealed   BLOB,
    revocation_hash     TEXT,
    created_at          BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL
);

-- Password right, code not yet given. Short-lived; the cookie holds the token.
CREATE TABLE pending_logins (
    id_hash      TEXT PRIMARY KEY NOT NULL,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    client_addr  TEXT
);
CREATE INDEX pending_logins_account ON pending_logins (account_id);
