//! Client authentication at the token and PAR endpoints: the one method the
//! service registered, nothing else (RFC 6749 §2.3, OIDC Core §9, RFC 7523).
//! A `private_key_jwt` assertion is used once: its `jti` is remembered in the
//! database, shared by every instance, until the assertion expires.

use crate::Kapu;
use crate::crypto::constant_time_eq;
use crate::oidc::model::{AuthMethod, Client};
use crate::oidc::repo::OidcRepo;
use crate::oidc::token::TokenError;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Clock difference allowed on `exp`, `nbf` and `iat`.
const LEEWAY_SECONDS: i64 = 30;

/// How the client presented itself, from the request.
#[derive(Debug, Clone, Default)]
pub struct ClientCredentials {
    /// From HTTP Basic (`client_secret_basic`).
    pub basic: Option<(String, String)>,
    pub client_id: Option<String>,
    /// `client_secret_post`.
    pub client_secret: Option<String>,
    /// `private_key_jwt`.
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
}

impl ClientCredentials {
    /// The method the request used, if exactly one (`Err` when it mixes them).
    fn method(&self) -> Result<AuthMethod, TokenError> {
        let used = [
            self.basic.is_some(),
            self.client_secret.is_some(),
            self.client_assertion.is_some() || self.client_assertion_type.is_some(),
        ];
        match used {
            [true, false, false] => Ok(AuthMethod::ClientSecretBasic),
            [false, true, false] => Ok(AuthMethod::ClientSecretPost),
            [false, false, true] => Ok(AuthMethod::PrivateKeyJwt),
            [false, false, false] if self.client_id.is_some() => Ok(AuthMethod::None),
            [false, false, false] => Err(TokenError::InvalidClient("no client authentication".into())),
            _ => Err(TokenError::InvalidRequest("more than one client authentication method".into())),
        }
    }
}

pub(crate) fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    data_encoding::HEXLOWER.encode(&sha2::Sha256::digest(s.as_bytes()))
}

impl Kapu {
    /// The client the request authenticates as, by the method it registered.
    pub async fn authenticate_client(&self, creds: &ClientCredentials) -> Result<Client, TokenError> {
        let method = creds.method()?;
        let client_id = match (method, &creds.basic) {
            (AuthMethod::ClientSecretBasic, Some((id, _))) => id.clone(),
            (AuthMethod::PrivateKeyJwt, _) => assertion_issuer(creds)?,
            _ => creds.client_id.clone().unwrap_or_default(),
        };
        if let Some(id) = &creds.client_id
            && *id != client_id
        {
            return Err(TokenError::InvalidClient("client_id does not match the client authentication".into()));
        }
        let client =
            self.store.client(&client_id).await?.ok_or_else(|| TokenError::InvalidClient("unknown client".into()))?;
        if client.auth_method != method {
            return Err(TokenError::InvalidClient(format!(
                "this client authenticates with {}, not {}",
                client.auth_method.as_str(),
                method.as_str()
            )));
        }
        match method {
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => {
                let secret = match &creds.basic {
                    Some((_, secret)) => secret.as_str(),
                    None => creds.client_secret.as_deref().unwrap_or_default(),
                };
                let hash = client.secret_hash.as_deref().unwrap_or_default();
                if hash.is_empty() || !constant_time_eq(sha256_hex(secret).as_bytes(), hash.as_bytes()) {
                    return Err(TokenError::InvalidClient("wrong client secret".into()));
                }
            }
            AuthMethod::PrivateKeyJwt => self.check_assertion(&client, creds).await?,
            AuthMethod::None => {}
        }
        Ok(client)
    }

    /// RFC 7523 §3 and OIDC Core §9: signed by a key the client registered;
    /// `iss` and `sub` the client; `aud` kapu (the issuer, or the endpoint;
    /// for a FAPI 2.0 client the issuer only);
    /// not expired, not longer-lived than `oidc.max_assertion_seconds`; a
    /// `jti` never seen before from this client.
    async fn check_assertion(&self, client: &Client, creds: &ClientCredentials) -> Result<(), TokenError> {
        let bad = |m: &str| TokenError::InvalidClient(format!("client_assertion: {m}"));
        let assertion = creds.client_assertion.as_deref().unwrap_or_default();
        let jwks: jsonwebtoken::jwk::JwkSet = client
            .jwks
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok())
            .ok_or_else(|| bad("the client has no registered keys"))?;
        let header = jsonwebtoken::decode_header(assertion).map_err(|_| bad("bad JWT header"))?;
        if !matches!(
            header.alg,
            jsonwebtoken::Algorithm::ES256 | jsonwebtoken::Algorithm::RS256 | jsonwebtoken::Algorithm::PS256
        ) {
            return Err(bad("must be signed with ES256, PS256 or RS256"));
        }
        // FAPI 2.0 Security Profile §5.4: PS256, ES256 or EdDSA only.
        if client.fapi2 && header.alg == jsonwebtoken::Algorithm::RS256 {
            return Err(bad("a FAPI 2.0 client signs with ES256 or PS256, not RS256"));
        }
        let key = match &header.kid {
            Some(kid) => jwks.find(kid),
            None if jwks.keys.len() == 1 => jwks.keys.first(),
            None => None,
        }
        .ok_or_else(|| bad("signed with a key the client did not register"))?;
        let decoding = jsonwebtoken::DecodingKey::from_jwk(key).map_err(|_| bad("unusable registered key"))?;
        let iss = self.issuer();
        let audiences = if client.fapi2 {
            vec![iss.clone()]
        } else {
            vec![iss.clone(), format!("{iss}/token"), format!("{iss}/par")]
        };
        let mut validation = jsonwebtoken::Validation::new(header.alg);
        validation.set_audience(&audiences);
        validation.set_issuer(&[client.client_id.as_str()]);
        validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
        // Times are checked against kapu's clock below (the library would
        // use the system clock).
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let data = jsonwebtoken::decode::<serde_json::Value>(assertion, &decoding, &validation)
            .map_err(|e| bad(&e.to_string()))?;
        let claims = data.claims;
        // FAPI 2.0 Security Profile §5.3.2.1: the issuer alone, as a string.
        if client.fapi2 && claims["aud"].as_str() != Some(iss.as_str()) {
            return Err(bad("a FAPI 2.0 client's aud is the issuer, as a string"));
        }
        if claims["sub"].as_str() != Some(client.client_id.as_str()) {
            return Err(bad("sub must be the client id"));
        }
        let now = self.now();
        let exp = claims["exp"].as_i64().ok_or_else(|| bad("exp must be a number"))?;
        if exp < now - LEEWAY_SECONDS {
            return Err(bad("expired"));
        }
        let max = self.config.oidc.max_assertion_seconds;
        let lifetime_from = claims["iat"].as_i64().unwrap_or(now).min(now);
        if exp - lifetime_from > max + LEEWAY_SECONDS {
            return Err(bad(&format!("lives longer than {max} s")));
        }
        if claims["nbf"].as_i64().is_some_and(|nbf| nbf > now + LEEWAY_SECONDS) {
            return Err(bad("not valid yet"));
        }
        if claims["iat"].as_i64().is_some_and(|iat| iat > now + LEEWAY_SECONDS) {
            return Err(bad("issued in the future"));
        }
        let jti =
            claims["jti"].as_str().filter(|j| !j.is_empty() && j.len() <= 256).ok_or_else(|| bad("jti is required"))?;
        if !self.store.remember_assertion(&client.client_id, jti, exp + LEEWAY_SECONDS).await? {
            return Err(bad("this assertion was used before"));
        }
        Ok(())
    }
}

/// The client an assertion says it is from (checked against its signature later).
fn assertion_issuer(creds: &ClientCredentials) -> Result<String, TokenError> {
    if creds.client_assertion_type.as_deref() != Some(JWT_BEARER) {
        return Err(TokenError::InvalidClient("unsupported client_assertion_type".into()));
    }
    let assertion = creds.client_assertion.as_deref().unwrap_or_default();
    let unverified = jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(assertion)
        .map_err(|_| TokenError::InvalidClient("client_assertion is not a JWT".into()))?;
    unverified.claims["iss"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| TokenError::InvalidClient("client_assertion has no iss".into()))
}
