-- Who the citizen is (docs/identity.md): an identity verified in person at an
-- office, bound to one account; the codes that bind it; what each service
-- was allowed to receive.

-- A verified identity: the "4T" (name, birth name, mother's birth name,
-- place and date of birth) as the office read them from the document.
-- person_key (an HMAC of the 4T under a key outside the database) is the
-- same for the same person, so one person's identity is bound to one account.
CREATE TABLE identities (
    account_id          TEXT PRIMARY KEY NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    person_key          TEXT NOT NULL UNIQUE,
    family_name         TEXT NOT NULL,
    given_name          TEXT NOT NULL,
    birth_family_name   TEXT NOT NULL,
    birth_given_name    TEXT NOT NULL,
    mother_birth_name   TEXT NOT NULL,
    place_of_birth      TEXT NOT NULL,
    birth_date          TEXT NOT NULL,
    -- The document checked (type and number), sealed like every secret.
    document_sealed     BLOB NOT NULL,
    clerk               TEXT NOT NULL,
    office              TEXT NOT NULL,
    verified_at         BIGINT NOT NULL
);

-- A verification waiting to be bound: the code the clerk handed over (or
-- the post delivered) only hashed, the identity sealed until it is bound.
CREATE TABLE identity_bindings (
    code_hash           TEXT PRIMARY KEY NOT NULL,
    identity_sealed     BLOB NOT NULL,
    clerk               TEXT NOT NULL,
    office              TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL
);
CREATE INDEX identity_bindings_expires ON identity_bindings (expires_at);

-- What a service may receive beyond the login (JSON list of claim names),
-- set at registration.
ALTER TABLE oidc_clients ADD COLUMN allowed_claims TEXT NOT NULL DEFAULT '[]';

-- The citizen's yes to a service receiving identity data: which claims,
-- when. Withdrawn on "Szolgáltatások"; asked again at the next login.
CREATE TABLE oidc_consents (
    account_id          TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id           TEXT NOT NULL REFERENCES oidc_clients (client_id) ON DELETE CASCADE,
    claims              TEXT NOT NULL,
    granted_at          BIGINT NOT NULL,
    last_used_at        BIGINT NOT NULL,
    PRIMARY KEY (account_id, client_id)
);
