-- Limits that hold under concurrency (see docs/security.md).
-- The unlock link of a locked code step is re-sent on a later try, at most
-- once per ten minutes: the time of the last one.
ALTER TABLE totp_credentials ADD COLUMN unlock_mailed_at BIGINT NOT NULL DEFAULT 0;
-- Wrong codes tried with one emailed unlock link (the link dies at its limit).
ALTER TABLE email_links ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
-- /readyz writes here: a database that answers but cannot write is not ready.
CREATE TABLE readiness_probe (
    id          BIGINT PRIMARY KEY NOT NULL,
    checked_at  BIGINT NOT NULL
);
