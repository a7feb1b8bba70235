-- One abuser must not deny service to others; nothing is lost (docs/security.md).

-- Mail waits here, written in the same transaction as the action that sends
-- it, until a worker has delivered it (then the row is deleted). The body
-- carries single-use links, so it is sealed like every other secret.
CREATE TABLE mail_queue (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient        TEXT NOT NULL,
    recipient_name   TEXT,
    subject          TEXT NOT NULL,
    body_sealed      BYTEA NOT NULL,
    created_at       BIGINT NOT NULL,
    -- Not before this time (a retry waits longer after each failure).
    next_attempt_at  BIGINT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    -- A worker delivering it holds it until then (another waits).
    claimed_until    BIGINT NOT NULL DEFAULT 0,
    last_error       TEXT
);
CREATE INDEX mail_queue_due ON mail_queue (next_attempt_at);

-- "Aktív munkamenetek": which browser a session is.
ALTER TABLE sessions ADD COLUMN user_agent TEXT;

-- Tries refused while a key was waiting, summed into one audit event per block.
ALTER TABLE login_throttle ADD COLUMN refused BIGINT NOT NULL DEFAULT 0;

-- After the end of one-step login a set-up finished with a password-only
-- session waits for the mailed confirmation (or the office) from this time.
ALTER TABLE totp_enrolments ADD COLUMN awaiting_since BIGINT;

CREATE INDEX email_links_expiry ON email_links (expires_at);
CREATE INDEX pending_logins_expiry ON pending_logins (expires_at);
CREATE INDEX oidc_auth_requests_expiry ON oidc_auth_requests (expires_at);
CREATE INDEX oidc_codes_expiry ON oidc_codes (expires_at);
CREATE INDEX oidc_access_tokens_expiry ON oidc_access_tokens (expires_at);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX login_throttle_updated ON login_throttle (updated_at);
