-- The office console (docs/identity.md): who may use it, in which role
-- (clerk, supervisor), at which office. Set by `kapu admin office`.
CREATE TABLE office_staff (
    account_id          TEXT PRIMARY KEY NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role                TEXT NOT NULL,
    office              TEXT NOT NULL,
    added_at            BIGINT NOT NULL
);
