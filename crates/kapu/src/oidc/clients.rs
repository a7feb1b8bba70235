//! Registered services (`kapu admin client add|update|list|remove`): what a
//! registration may say, checked once here so every endpoint can trust it.

use crate::Kapu;
use crate::crypto::random_token;
use crate::oidc::model::{AuthMethod, Client, Level, SigningAlg};
use crate::oidc::repo::OidcRepo;
use crate::oidc::service::OidcError;
use crate::store::StoreError;

/// A new service's registration, as `kapu admin client add` takes it.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub auth_method: AuthMethod,
    pub id_token_alg: SigningAlg,
    pub required_level: Level,
    /// A JWK set (JSON) for `private_key_jwt`.
    pub jwks: Option<String>,
    pub backchannel_logout_uri: Option<String>,
    pub web_origins: Vec<String>,
    pub par_required: bool,
    pub fapi2: bool,
    /// Identity claims it may receive (see [`Client::allowed_claims`]).
    pub allowed_claims: Vec<String>,
    /// See [`Client::delegation_matters`].
    pub delegation_matters: Vec<String>,
}

impl Default for NewClient {
    fn default() -> Self {
        Self {
            name: String::new(),
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            auth_method: AuthMethod::ClientSecretBasic,
            id_token_alg: SigningAlg::ES256,
            required_level: Level::TwoStep,
            jwks: None,
            backchannel_logout_uri: None,
            web_origins: Vec::new(),
            par_required: false,
            fapi2: false,
            allowed_claims: Vec::new(),
            delegation_matters: Vec::new(),
        }
    }
}

/// What `kapu admin client update` changes; `None` keeps the field.
#[derive(Debug, Clone, Default)]
pub struct ClientChanges {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub auth_method: Option<AuthMethod>,
    pub id_token_alg: Option<SigningAlg>,
    pub required_level: Option<Level>,
    pub jwks: Option<String>,
    /// `Some(None)` removes it.
    pub backchannel_logout_uri: Option<Option<String>>,
    pub web_origins: Option<Vec<String>>,
    pub par_required: Option<bool>,
    pub fapi2: Option<bool>,
    pub allowed_claims: Option<Vec<String>>,
    pub delegation_matters: Option<Vec<String>>,
    /// A new client secret (the old one stops working).
    pub new_secret: bool,
}

/// Identity claims a service may be allowed: known ones only, each once,
/// in the catalogue's order; `identity` stands for all of them.
fn check_allowed_claims(claims: &[String]) -> Result<Vec<String>, OidcError> {
    use crate::oidc::discovery::IDENTITY_CLAIMS;
    for c in claims {
        if c != "identity" && !IDENTITY_CLAIMS.contains(&c.as_str()) {
            return Err(OidcError::Invalid(format!(
                "{c:?} is not an identity claim; allowed: identity (all), {}",
                IDENTITY_CLAIMS.join(", ")
            )));
        }
    }
    let all = claims.iter().any(|c| c == "identity");
    Ok(IDENTITY_CLAIMS.iter().filter(|c| all || claims.iter().any(|x| x == *c)).map(|c| (*c).to_owned()).collect())
}

/// Redirect and logout URIs: absolute, no fragment; https, or http only on
/// loopback (for services run on the same machine during development).
pub fn check_redirect_uri(uri: &str) -> Result<(), String> {
    let parsed = url::Url::parse(uri).map_err(|e| format!("{uri:?} is not an absolute URI: {e}"))?;
    if parsed.fragment().is_some() {
        return Err(format!("{uri:?} has a fragment; redirect URIs must not"));
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&parsed) => Ok(()),
        _ => Err(format!("{uri:?} must use https (http only for localhost / 127.0.0.1)")),
    }
}

fn is_loopback(url: &url::Url) -> bool {
    matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

/// A web origin for CORS: `https://host[:port]` (http only on loopback),
/// nothing after the host. Returned as browsers send it.
pub fn check_web_origin(origin: &str) -> Result<String, String> {
    let parsed = url::Url::parse(origin).map_err(|e| format!("{origin:?} is not an origin: {e}"))?;
    let bare = parsed.path() == "/" && parsed.query().is_none() && parsed.fragment().is_none();
    let https_or_loopback = parsed.scheme() == "https" || (parsed.scheme() == "http" && is_loopback(&parsed));
    if !bare || !https_or_loopback || !origin.trim_end_matches('/').eq(&parsed.origin().ascii_serialization()) {
        return Err(format!("{origin:?} must be an origin like https://app.example.hu (http only for localhost)"));
    }
    Ok(parsed.origin().ascii_serialization())
}

/// Checks a whole registration; `client` is what would be stored.
fn check_client(client: &Client) -> Result<(), OidcError> {
    let invalid = |m: String| Err(OidcError::Invalid(m));
    let name = client.name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return invalid("--name must be 1-200 characters".into());
    }
    if client.redirect_uris.is_empty() {
        return invalid("at least one --redirect-uri is needed".into());
    }
    for uri in
        client.redirect_uris.iter().chain(&client.post_logout_redirect_uris).chain(&client.backchannel_logout_uri)
    {
        check_redirect_uri(uri).map_err(OidcError::Invalid)?;
    }
    match (&client.jwks, client.auth_method) {
        (Some(jwks), AuthMethod::PrivateKeyJwt) => {
            let set: jsonwebtoken::jwk::JwkSet =
                serde_json::from_str(jwks).map_err(|e| OidcError::Invalid(format!("--jwks is not a JWK set: {e}")))?;
            if set.keys.is_empty() || set.keys.iter().any(|k| jsonwebtoken::DecodingKey::from_jwk(k).is_err()) {
                return invalid("--jwks must hold usable public keys".into());
            }
        }
        (None, AuthMethod::PrivateKeyJwt) => return invalid("private_key_jwt needs the client's keys (--jwks)".into()),
        (Some(_), _) => return invalid("--jwks is only for --auth-method private_key_jwt".into()),
        (None, _) => {}
    }
    if client.fapi2 && client.auth_method != AuthMethod::PrivateKeyJwt {
        return invalid("FAPI 2.0 (--fapi2) needs --auth-method private_key_jwt".into());
    }
    // FAPI 2.0 Security Profile §5.4: PS256, ES256 or EdDSA.
    if client.fapi2 && client.id_token_alg == SigningAlg::RS256 {
        return invalid("FAPI 2.0 (--fapi2) signs ID tokens with ES256, not RS256 (--alg ES256)".into());
    }
    if !client.web_origins.is_empty() && client.auth_method != AuthMethod::None {
        return invalid("--web-origin is for browser applications (--auth-method none)".into());
    }
    Ok(())
}

fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    data_encoding::HEXLOWER.encode(&sha2::Sha256::digest(s.as_bytes()))
}

fn secret_for(method: AuthMethod) -> Option<String> {
    matches!(method, AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost).then(random_token)
}

impl Kapu {
    /// Registers a service; returns it and its client secret (shown once).
    pub async fn register_client(&self, new: NewClient) -> Result<(Client, Option<String>), OidcError> {
        let web_origins = new
            .web_origins
            .iter()
            .map(|o| check_web_origin(o))
            .collect::<Result<Vec<_>, _>>()
            .map_err(OidcError::Invalid)?;
        let secret = secret_for(new.auth_method);
        let client = Client {
            client_id: crate::crypto::random_id()[..20].to_owned(),
            name: new.name.trim().to_owned(),
            redirect_uris: new.redirect_uris,
            post_logout_redirect_uris: new.post_logout_redirect_uris,
            auth_method: new.auth_method,
            secret_hash: secret.as_deref().map(sha256_hex),
            jwks: new.jwks,
            id_token_alg: new.id_token_alg,
            required_level: new.required_level,
            backchannel_logout_uri: new.backchannel_logout_uri,
            web_origins,
            par_required: new.par_required || new.fapi2,
            fapi2: new.fapi2,
            created_at: self.now(),
            allowed_claims: check_allowed_claims(&new.allowed_claims)?,
            delegation_matters: self.check_matters(&new.delegation_matters)?,
        };
        check_client(&client)?;
        self.store.insert_client(&client).await?;
        // A service that signs with RS256 gets its key now, not at its first login.
        self.signing_key(client.id_token_alg).await?;
        Ok((client, secret))
    }

    /// Changes a registration; returns it and a new client secret if one
    /// was made (a switch to a secret method, or `new_secret`).
    pub async fn update_client(
        &self,
        client_id: &str,
        changes: ClientChanges,
    ) -> Result<(Client, Option<String>), OidcError> {
        let mut c = self
            .store
            .client(client_id)
            .await?
            .ok_or_else(|| OidcError::Invalid(format!("no service with client id {client_id:?}")))?;
        let old_method = c.auth_method;
        if let Some(v) = changes.name {
            c.name = v.trim().to_owned();
        }
        if let Some(v) = changes.redirect_uris {
            c.redirect_uris = v;
        }
        if let Some(v) = changes.post_logout_redirect_uris {
            c.post_logout_redirect_uris = v;
        }
        if let Some(v) = changes.auth_method {
            c.auth_method = v;
        }
        if let Some(v) = changes.id_token_alg {
            c.id_token_alg = v;
        }
        if let Some(v) = changes.required_level {
            c.required_level = v;
        }
        if let Some(v) = changes.jwks {
            c.jwks = Some(v);
        }
        if c.auth_method != AuthMethod::PrivateKeyJwt {
            c.jwks = None;
        }
        if let Some(v) = changes.backchannel_logout_uri {
            c.backchannel_logout_uri = v;
        }
        if let Some(v) = changes.web_origins {
            c.web_origins =
                v.iter().map(|o| check_web_origin(o)).collect::<Result<Vec<_>, _>>().map_err(OidcError::Invalid)?;
        }
        if let Some(v) = changes.fapi2 {
            c.fapi2 = v;
        }
        if let Some(v) = changes.par_required {
            c.par_required = v;
        }
        if let Some(v) = changes.delegation_matters {
            c.delegation_matters = self.check_matters(&v)?;
        }
        if let Some(v) = changes.allowed_claims {
            c.allowed_claims = check_allowed_claims(&v)?;
        }
        c.par_required |= c.fapi2;
        let secret_method = matches!(c.auth_method, AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost);
        let had_secret = matches!(old_method, AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost);
        let secret =
            if secret_method && (changes.new_secret || !had_secret) { secret_for(c.auth_method) } else { None };
        if let Some(s) = &secret {
            c.secret_hash = Some(sha256_hex(s));
        }
        if !secret_method {
            c.secret_hash = None;
        }
        check_client(&c)?;
        self.store.update_client(&c).await?;
        self.signing_key(c.id_token_alg).await?;
        Ok((c, secret))
    }

    /// `kapu admin client list`.
    /// Delegation matters a service may take: configured ones, each once.
    fn check_matters(&self, matters: &[String]) -> Result<Vec<String>, OidcError> {
        let known: Vec<&str> = self.config.delegations.matters.iter().map(|m| m.id.as_str()).collect();
        let mut out: Vec<String> = Vec::new();
        for m in matters {
            if !known.contains(&m.as_str()) {
                return Err(OidcError::Invalid(format!(
                    "{m:?} is not a delegation matter; configured: {}",
                    known.join(", ")
                )));
            }
            if !out.contains(m) {
                out.push(m.clone());
            }
        }
        Ok(out)
    }

    pub async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        self.store.list_clients().await
    }

    /// `kapu admin client remove`: its codes and tokens go with it. Whether it existed.
    pub async fn remove_client(&self, client_id: &str) -> Result<bool, StoreError> {
        self.store.delete_client(client_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_must_be_https_or_loopback() {
        assert!(check_redirect_uri("https://bevallas.example.hu/callback").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:9000/callback").is_ok());
        assert!(check_redirect_uri("http://evil.example/callback").is_err());
        assert!(check_redirect_uri("https://x.example/cb#frag").is_err());
        assert!(check_redirect_uri("/relative").is_err());
    }

    #[test]
    fn web_origins_are_bare_origins() {
        assert_eq!(check_web_origin("https://app.example.hu").as_deref(), Ok("https://app.example.hu"));
        assert_eq!(check_web_origin("https://app.example.hu/").as_deref(), Ok("https://app.example.hu"));
        assert_eq!(check_web_origin("http://127.0.0.1:5173").as_deref(), Ok("http://127.0.0.1:5173"));
        for bad in ["https://app.example.hu/path", "http://app.example.hu", "app.example.hu", "https://a.hu?x=1", "*"] {
            assert!(check_web_origin(bad).is_err(), "{bad}");
        }
    }
}
