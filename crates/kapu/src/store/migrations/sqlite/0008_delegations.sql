-- Delegations (meghatalmazás, docs/identity.md): a verified citizen (the
-- principal) lets another verified citizen (the agent) act for them in one
-- matter, optionally at one service, from a date to a date (civil dates,
-- YYYY-MM-DD, both days included). Pending until the agent accepts; ended
-- by either party (or refused by the agent) at any time. Deleting either
-- account deletes its delegations (the other party is told first).
CREATE TABLE delegations (
    id                  TEXT PRIMARY KEY NOT NULL,
    principal_id        TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    agent_id            TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    matter              TEXT NOT NULL,
    -- NULL: any service.
    client_id           TEXT REFERENCES oidc_clients (client_id) ON DELETE CASCADE,
    valid_from          TEXT NOT NULL,
    valid_until         TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    -- Who recorded it: NULL for the principal in the portal, else the clerk
    -- and office that recorded one made in person.
    recorded_by         TEXT,
    accepted_at         BIGINT,
    ended_at            BIGINT,
    -- principal, agent (ended or refused), office
    ended_by            TEXT
);
CREATE INDEX delegations_principal ON delegations (principal_id);
CREATE INDEX delegations_agent ON delegations (agent_id);

-- An agent's login at a service on a principal's behalf: the code and its
-- access token name the principal (the ID token's `sub`); `account_id`
-- stays the person who logged in (the `act` claim).
ALTER TABLE oidc_codes ADD COLUMN on_behalf_of TEXT;
ALTER TABLE oidc_access_tokens ADD COLUMN on_behalf_of TEXT;

-- The matters a service takes logins on a principal's behalf for (JSON list
-- of matter ids): none by default, so a service that does not understand
-- `act` never receives one.
ALTER TABLE oidc_clients ADD COLUMN delegation_matters TEXT NOT NULL DEFAULT '[]';
