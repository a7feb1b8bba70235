-- The portal: accounts, emailed single-use links, sessions, login limits, audit log.
-- Times are Unix seconds (UTC). Tokens are stored only as SHA-256 hex.

CREATE TABLE accounts (
    id                  TEXT PRIMARY KEY NOT NULL,
    username            TEXT NOT NULL UNIQUE,
    full_name           TEXT NOT NULL,
    email               TEXT NOT NULL,
    password_hash       TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('pending', 'active')),
    -- A pending registration frees its username when this passes.
    pending_expires_at  BIGINT,
    language            TEXT NOT NULL DEFAULT 'hu' CHECK (language IN ('hu', 'en')),
    notify_logins       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);

CREATE TABLE email_links (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    purpose     TEXT NOT NULL,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    new_email   TEXT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX email_links_account ON email_links (account_id, purpose);

CREATE TABLE sessions (
    id_hash              TEXT PRIMARY KEY NOT NULL,
    account_id           TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    auth_methods         TEXT NOT NULL,
    auth_time            BIGINT NOT NULL,
    created_at           BIGINT NOT NULL,
    last_seen_at         BIGINT NOT NULL,
    idle_expires_at      BIGINT NOT NULL,
    absolute_expires_at  BIGINT NOT NULL,
    client_addr          TEXT
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expiry ON sessions (idle_expires_at);

-- Failed-login counters per username and per client address. Keyed by the
-- typed username, not the account, so unknown names are limited alike.
CREATE TABLE login_throttle (
    throttle_key       TEXT PRIMARY KEY NOT NULL,
    failures           BIGINT NOT NULL,
    window_started_at  BIGINT NOT NULL,
    blocked_until      BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

-- Kept when an account is deleted; its personal fields are cleared then.
CREATE TABLE audit_events (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           BIGINT NOT NULL,
    account_id   TEXT,
    username     TEXT,
    event        TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    client_addr  TEXT,
    detail       TEXT
);
CREATE INDEX audit_events_account ON audit_events (account_id, id);
