//! The rule that decides whether a login may sign a tax return: the user
//! must have logged in with username, password AND a TOTP code
//! (Ügyfélkapu+) within the last 30 seconds. The ID token's signature,
//! issuer, audience, nonce and expiry are checked before this, by the
//! `openidconnect` library; this is the service's own policy on top.

use openidconnect::core::CoreIdTokenClaims;

/// How old a login may be when the return arrives (the guide: the code must
/// be given "30 másodpercen belül bevallásonként").
pub const FRESHNESS_SECONDS: i64 = 30;
/// Clocks of kapu and this service may differ a little; a login dated this
/// far in the future is still taken as "now".
pub const CLOCK_SKEW_SECONDS: i64 = 5;
/// kapu's `acr` for username + password + code.
pub const REQUIRED_ACR: &str = "ugyfelkapu-plus";
/// The `amr` value (RFC 8176) for a one-time password.
pub const REQUIRED_AMR: &str = "otp";

/// What the rule reads from an ID token.
pub trait LoginClaims {
    /// `auth_time`, Unix seconds.
    fn auth_time(&self) -> Option<i64>;
    fn acr(&self) -> Option<&str>;
    fn amr(&self) -> Vec<&str>;
}

impl LoginClaims for CoreIdTokenClaims {
    fn auth_time(&self) -> Option<i64> {
        CoreIdTokenClaims::auth_time(self).map(|t| t.timestamp())
    }
    fn acr(&self) -> Option<&str> {
        self.auth_context_ref().map(|a| a.as_str())
    }
    fn amr(&self) -> Vec<&str> {
        self.auth_method_refs().map(|v| v.iter().map(|a| a.as_str()).collect()).unwrap_or_default()
    }
}

/// Why a login may not sign a return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No `auth_time`: we cannot tell when the user logged in.
    NoAuthTime,
    /// The login is older than [`FRESHNESS_SECONDS`].
    Stale { age_seconds: i64 },
    /// `auth_time` lies in the future beyond the allowed skew.
    FromTheFuture,
    /// No code was used (`amr` lacks `otp`).
    NoCode,
    /// `acr` is not `ugyfelkapu-plus`.
    WrongLevel { acr: Option<String> },
}

impl Refusal {
    /// The specific reason, in Hungarian, shown after the general sentence.
    pub fn reason_hu(&self) -> String {
        match self {
            Refusal::NoAuthTime => "Az azonosítás időpontja nem ismert.".to_owned(),
            Refusal::Stale { age_seconds } => format!(
                "Az azonosítás {age_seconds} másodperce történt; legfeljebb {FRESHNESS_SECONDS} másodperces azonosítást fogadunk el."
            ),
            Refusal::FromTheFuture => {
                "Az azonosítás időpontja a jövőbe esik; ellenőrizze az órák beállítását.".to_owned()
            }
            Refusal::NoCode => "Az azonosításhoz nem adott meg kódot (csak jelszóval lépett be).".to_owned(),
            Refusal::WrongLevel { acr: Some(acr) } => format!("Az azonosítás szintje „{acr}”, nem Ügyfélkapu+."),
            Refusal::WrongLevel { acr: None } => "Az azonosítás szintje nem ismert, nem Ügyfélkapu+.".to_owned(),
        }
    }
}

/// Accepts the login for one submission, or says why not. `now` is Unix seconds.
pub fn check_login(claims: &impl LoginClaims, now: i64) -> Result<(), Refusal> {
    if claims.acr() != Some(REQUIRED_ACR) {
        return Err(Refusal::WrongLevel { acr: claims.acr().map(str::to_owned) });
    }
    if !claims.amr().contains(&REQUIRED_AMR) {
        return Err(Refusal::NoCode);
    }
    let auth_time = claims.auth_time().ok_or(Refusal::NoAuthTime)?;
    let age_seconds = now - auth_time;
    if age_seconds < -CLOCK_SKEW_SECONDS {
        return Err(Refusal::FromTheFuture);
    }
    if age_seconds > FRESHNESS_SECONDS {
        return Err(Refusal::Stale { age_seconds });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FakeClaims {
        auth_time: Option<i64>,
        acr: Option<&'static str>,
        amr: Vec<&'static str>,
    }

    impl LoginClaims for FakeClaims {
        fn auth_time(&self) -> Option<i64> {
            self.auth_time
        }
        fn acr(&self) -> Option<&str> {
            self.acr
        }
        fn amr(&self) -> Vec<&str> {
            self.amr.clone()
        }
    }

    const NOW: i64 = 1_760_000_000;

    fn two_step(auth_time: i64) -> FakeClaims {
        FakeClaims { auth_time: Some(auth_time), acr: Some("ugyfelkapu-plus"), amr: vec!["pwd", "otp"] }
    }

    #[test]
    fn a_fresh_two_step_login_is_accepted() {
        assert_eq!(check_login(&two_step(NOW), NOW), Ok(()));
        assert_eq!(check_login(&two_step(NOW - 30), NOW), Ok(()), "exactly 30 s old is still fresh");
        assert_eq!(check_login(&two_step(NOW + 5), NOW), Ok(()), "a little clock skew is allowed");
    }

    #[test]
    fn an_old_login_is_refused() {
        assert_eq!(check_login(&two_step(NOW - 31), NOW), Err(Refusal::Stale { age_seconds: 31 }));
        assert_eq!(check_login(&two_step(NOW - 3600), NOW), Err(Refusal::Stale { age_seconds: 3600 }));
        assert!(Refusal::Stale { age_seconds: 31 }.reason_hu().contains("31 másodperce"));
    }

    #[test]
    fn a_login_from_the_future_or_without_time_is_refused() {
        assert_eq!(check_login(&two_step(NOW + 6), NOW), Err(Refusal::FromTheFuture));
        let no_time = FakeClaims { auth_time: None, ..two_step(NOW) };
        assert_eq!(check_login(&no_time, NOW), Err(Refusal::NoAuthTime));
    }

    #[test]
    fn a_login_without_a_code_is_refused() {
        let password_only = FakeClaims { amr: vec!["pwd"], ..two_step(NOW) };
        assert_eq!(check_login(&password_only, NOW), Err(Refusal::NoCode));
        let no_amr = FakeClaims { amr: vec![], ..two_step(NOW) };
        assert_eq!(check_login(&no_amr, NOW), Err(Refusal::NoCode));
    }

    #[test]
    fn only_the_ugyfelkapu_plus_level_is_accepted() {
        let plain = FakeClaims { acr: Some("ugyfelkapu"), ..two_step(NOW) };
        assert_eq!(check_login(&plain, NOW), Err(Refusal::WrongLevel { acr: Some("ugyfelkapu".into()) }));
        let eidas = FakeClaims { acr: Some("http://eidas.europa.eu/LoA/substantial"), ..two_step(NOW) };
        assert!(matches!(check_login(&eidas, NOW), Err(Refusal::WrongLevel { .. })));
        let none = FakeClaims { acr: None, ..two_step(NOW) };
        assert_eq!(check_login(&none, NOW), Err(Refusal::WrongLevel { acr: None }));
    }
}
