//! The pages every footer links to: "Súgó" (help), "Kapcsolat" (contact),
//! "Adatkezelési tájékoztató" (privacy notice) and "Akadálymentességi
//! nyilatkozat" (accessibility statement).
//!
//! They are open with or without a session. Their long texts live in the
//! templates, both languages in each; every limit and period they mention
//! comes from the configuration, so the pages say what this kapu really does.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;

use crate::Kapu;
use crate::accounts::model::Language;
use crate::web::context::{CSRF_COOKIE, Ctx, LANG_COOKIE, PENDING_COOKIE, SESSION_COOKIE, cookie_name};
use crate::web::templates::{Page, html};

use crate::web::error::PageResult;

/// A duration in words, in the largest unit that divides it ("15 perc",
/// "730 nap"); days only from two on, so a day-long link reads "24 óra".
/// Hungarian keeps the noun singular after a number, so the templates word
/// their sentences to need no suffix ("15 perc elteltével").
fn span(seconds: i64, lang: Language) -> String {
    const DAY: i64 = 24 * 3600;
    let (n, hu, en) = if seconds >= 2 * DAY && seconds % DAY == 0 {
        (seconds / DAY, "nap", "day")
    } else if seconds >= 3600 && seconds % 3600 == 0 {
        (seconds / 3600, "óra", "hour")
    } else if seconds >= 60 && seconds % 60 == 0 {
        (seconds / 60, "perc", "minute")
    } else {
        (seconds, "másodperc", "second")
    };
    match lang {
        Language::Hu => format!("{n} {hu}"),
        Language::En if n == 1 => format!("{n} {en}"),
        Language::En => format!("{n} {en}s"),
    }
}

/// How long things last, in words.
pub struct Periods {
    /// A session ends after this long without a request ...
    pub idle: String,
    /// ... and after this long in any case.
    pub absolute: String,
    /// The "stay logged in?" dialog appears this long before the end.
    pub warning: String,
    /// The code page stays open this long after a correct password.
    pub pending_login: String,
    /// A set-up left half way can be resumed this long.
    pub enrolment: String,
    pub registration_link: String,
    pub reset_link: String,
    pub email_change_link: String,
    pub unlock_link: String,
    pub activation_link: String,
}

impl Periods {
    fn new(kapu: &Kapu, lang: Language) -> Self {
        let c = &kapu.config;
        let words = |seconds| span(seconds, lang);
        Self {
            idle: words(c.session.idle_timeout_seconds),
            absolute: words(c.session.absolute_lifetime_seconds),
            warning: words(c.session.warning_seconds),
            pending_login: words(c.two_step.pending_login_seconds),
            enrolment: words(c.two_step.enrolment_seconds),
            registration_link: words(c.email_links.registration_ttl_seconds),
            reset_link: words(c.email_links.password_reset_ttl_seconds),
            email_change_link: words(c.email_links.email_change_ttl_seconds),
            unlock_link: words(c.two_step.unlock_link_ttl_seconds),
            activation_link: words(c.two_step.activation_link_ttl_seconds),
        }
    }
}

/// The attempt limits the help page explains.
pub struct Limits {
    /// Wrong passwords for one username are counted over this window ...
    pub password_window: String,
    /// ... from this many each try waits longer (1 s, 2 s, 4 s, ...) ...
    pub password_slowdown_after: i64,
    /// ... and from this many the name is locked this long.
    pub password_lockout_after: i64,
    pub password_lockout: String,
    /// The same for one client address, over all usernames.
    pub address_lockout_after: i64,
    pub address_lockout: String,
    /// Wrong codes in a row: from this many each try waits, starting with
    /// `code_first_wait` and doubling up to `code_max_wait` ...
    pub code_slowdown_after: i64,
    pub code_first_wait: String,
    pub code_max_wait: String,
    /// ... and from this many the code step is locked until the emailed link.
    pub code_lockout_after: i64,
    /// Codes one unlock link takes.
    pub unlock_attempts: i64,
    /// A try on a locked code step mails a fresh link at most this often.
    pub unlock_mail_every: String,
    /// Revocation codes per typed username per window.
    pub revocation_attempts: i64,
    pub revocation_window: String,
}

impl Limits {
    fn new(kapu: &Kapu, lang: Language) -> Self {
        let (l, t) = (&kapu.config.login_limits, &kapu.config.two_step);
        let words = |seconds| span(seconds, lang);
        Self {
            password_window: words(l.window_seconds),
            password_slowdown_after: l.account_slowdown_after,
            password_lockout_after: l.account_lockout_after,
            password_lockout: words(l.account_lockout_seconds),
            address_lockout_after: l.address_lockout_after,
            address_lockout: words(l.address_lockout_seconds),
            code_slowdown_after: t.code_slowdown_after,
            code_first_wait: words(t.code_slowdown_first_seconds),
            code_max_wait: words(t.code_max_wait_seconds),
            code_lockout_after: t.code_lockout_after,
            unlock_attempts: t.unlock_link_attempts,
            unlock_mail_every: words(t.unlock_mail_every_seconds),
            revocation_attempts: t.revocation_attempts,
            revocation_window: words(t.revocation_window_seconds),
        }
    }
}

/// "Súgó": the citizen's steps, from registration to a lost phone.
#[derive(Template)]
#[template(path = "info_help.html")]
pub struct HelpPage {
    pub p: Page,
    pub periods: Periods,
    pub limits: Limits,
    pub password_min_len: usize,
    /// The codes of the neighbouring 30-second steps are accepted too.
    pub adjacent_codes: bool,
    /// The last day of one-step (password only) login, if there is one ...
    pub one_step_until: Option<String>,
    /// ... and whether it has passed: a set-up then waits for the emailed link.
    pub one_step_ended: bool,
    pub offices_url: String,
}

pub async fn help_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx) -> PageResult {
    let page = HelpPage {
        p: Page::new(&kapu, &ctx, ctx.t().footer_help),
        periods: Periods::new(&kapu, ctx.lang),
        limits: Limits::new(&kapu, ctx.lang),
        password_min_len: kapu.config.password_policy.min_len,
        adjacent_codes: kapu.config.two_step.window > 0,
        one_step_until: kapu.config.two_step.legacy_login_until.clone(),
        one_step_ended: kapu.one_step_login_ended(),
        offices_url: kapu.config.contact.offices_url.clone(),
    };
    Ok(html(&page)?)
}

/// The help desk's telephone.
pub struct Phone {
    pub number: String,
    /// `tel:` with the digits (and a leading +) only.
    pub href: String,
    pub hours: Option<String>,
}

/// "Kapcsolat": who runs this kapu and how to reach them.
#[derive(Template)]
#[template(path = "info_contact.html")]
pub struct ContactPage {
    pub p: Page,
    pub operator: String,
    pub email: String,
    pub phone: Option<Phone>,
    pub postal_address: Option<String>,
    pub data_protection_email: String,
    pub offices_url: String,
    /// Where kapu's emails link to: the address to check before typing a password.
    pub site_url: String,
}

pub async fn contact_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx) -> PageResult {
    let c = &kapu.config.contact;
    let phone = c.phone.as_ref().map(|number| Phone {
        number: number.clone(),
        href: format!("tel:{}", number.chars().filter(|ch| ch.is_ascii_digit() || *ch == '+').collect::<String>()),
        hours: c.phone_hours.clone(),
    });
    let page = ContactPage {
        p: Page::new(&kapu, &ctx, ctx.t().footer_contact),
        operator: c.operator.clone(),
        email: c.email.clone(),
        phone,
        postal_address: c.postal_address.clone(),
        data_protection_email: c.data_protection_email(),
        offices_url: c.offices_url.clone(),
        site_url: kapu.config.public_url(),
    };
    Ok(html(&page)?)
}

/// The names of kapu's cookies as this server sets them (with `__Host-`
/// in front behind https).
pub struct CookieNames {
    pub session: String,
    pub csrf: String,
    pub pending: String,
    pub lang: String,
}

/// "Adatkezelési tájékoztató": what kapu keeps, why, for how long, who sees it.
#[derive(Template)]
#[template(path = "info_privacy.html")]
pub struct PrivacyPage {
    pub p: Page,
    pub operator: String,
    pub postal_address: Option<String>,
    pub email: String,
    pub data_protection_email: String,
    pub periods: Periods,
    /// Audit events are deleted after this; `None`: the sweeper keeps them
    /// (`retention.audit_days = 0`) and the operator drops old months.
    pub audit_retention: Option<String>,
    /// Limit counters are deleted once they have been quiet this long.
    pub counters_quiet: String,
    /// The longest a service's login request, code or access token lives.
    pub service_login: String,
    /// A mail that cannot be delivered is dropped after this.
    pub mail_give_up: String,
    /// No SMTP relay: mails are written to the outbox directory as files.
    pub mail_outbox: bool,
    pub cookies: CookieNames,
}

pub async fn privacy_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx) -> PageResult {
    let (config, lang) = (&kapu.config, ctx.lang);
    let c = &config.contact;
    let audit_days = config.retention.audit_days;
    let counters_quiet = crate::retention::counters_quiet_for(config);
    let oidc = &config.oidc;
    let service_login = oidc.auth_request_ttl_seconds.max(oidc.code_ttl_seconds + oidc.access_token_ttl_seconds);
    let page = PrivacyPage {
        p: Page::new(&kapu, &ctx, ctx.t().footer_privacy),
        operator: c.operator.clone(),
        postal_address: c.postal_address.clone(),
        email: c.email.clone(),
        data_protection_email: c.data_protection_email(),
        periods: Periods::new(&kapu, lang),
        audit_retention: (audit_days > 0).then(|| span(audit_days * 24 * 3600, lang)),
        counters_quiet: span(counters_quiet, lang),
        service_login: span(service_login, lang),
        mail_give_up: span(config.mail.give_up_after_seconds, lang),
        mail_outbox: config.mail.smtp.is_none(),
        cookies: CookieNames {
            session: cookie_name(&kapu, SESSION_COOKIE).into_owned(),
            csrf: cookie_name(&kapu, CSRF_COOKIE).into_owned(),
            pending: cookie_name(&kapu, PENDING_COOKIE).into_owned(),
            lang: cookie_name(&kapu, LANG_COOKIE).into_owned(),
        },
    };
    Ok(html(&page)?)
}

/// "Akadálymentességi nyilatkozat", after the EU model statement
/// (Commission Implementing Decision (EU) 2018/1523).
#[derive(Template)]
#[template(path = "info_accessibility.html")]
pub struct AccessibilityPage {
    pub p: Page,
    pub operator: String,
    pub email: String,
    pub site_url: String,
    pub periods: Periods,
}

pub async fn accessibility_get(State(kapu): State<Arc<Kapu>>, ctx: Ctx) -> PageResult {
    let page = AccessibilityPage {
        p: Page::new(&kapu, &ctx, ctx.t().footer_accessibility),
        operator: kapu.config.contact.operator.clone(),
        email: kapu.config.contact.email.clone(),
        site_url: kapu.config.public_url(),
        periods: Periods::new(&kapu, ctx.lang),
    };
    Ok(html(&page)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_said_in_the_largest_whole_unit() {
        assert_eq!(span(900, Language::Hu), "15 perc");
        assert_eq!(span(24 * 3600, Language::Hu), "24 óra");
        assert_eq!(span(730 * 24 * 3600, Language::Hu), "730 nap");
        assert_eq!(span(90, Language::Hu), "90 másodperc");
        assert_eq!(span(3600, Language::En), "1 hour");
        assert_eq!(span(120, Language::En), "2 minutes");
        assert_eq!(span(1, Language::En), "1 second");
    }
}
