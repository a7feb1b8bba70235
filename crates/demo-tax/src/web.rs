//! The pages: "/" (the form and "Beadott bevallások"), POST /bevallas (keep
//! the draft, go to kapu), GET /callback (back from kapu: check, file or say
//! why not), POST /kijelentkezes (kapu's end-session endpoint), the CSS.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use cookie::{Cookie, SameSite};
use jiff::tz::TimeZone;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::acceptance::{LoginClaims, Refusal, check_login};
use crate::oidc::{LoginFailure, Oidc};
use crate::store::{Draft, Identity, Session, Store, TaxReturn, new_reference};

const SESSION_COOKIE: &str = "bevallas_session";
const CSS: &str = include_str!("../static/bevallas.css");
/// How many past tax years the form offers.
const YEARS_OFFERED: i16 = 5;
/// The delegation matter (kapu's `delegated_matters`) that lets an agent
/// file a return on a taxpayer's behalf.
const TAX_RETURN_MATTER: &str = "adobevallas";
const NOTE_MAX_CHARS: usize = 1000;
const AMOUNT_MAX: i64 = 999_999_999_999;

pub struct App {
    store: Store,
    oidc: Oidc,
    secure_cookies: bool,
    csp: String,
    time_zone: TimeZone,
}

impl App {
    pub fn new(store: Store, oidc: Oidc, public_url: &str) -> Self {
        // Forms end up at kapu (the login) and back here (the callback), and
        // browsers check `form-action` along the whole redirect chain.
        let issuer_origin =
            url::Url::parse(oidc.issuer()).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
        let csp = format!(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' {issuer_origin}; \
             frame-ancestors 'none'; base-uri 'none'"
        );
        Self {
            store,
            oidc,
            secure_cookies: public_url.starts_with("https://"),
            csp,
            time_zone: TimeZone::get("Europe/Budapest").unwrap_or(TimeZone::UTC),
        }
    }
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(home_get))
        .route("/bevallas", post(submit_post))
        .route("/callback", get(callback_get))
        .route("/kijelentkezes", post(logout_post))
        .route("/static/bevallas.css", get(css_get))
        .layer(middleware::from_fn_with_state(app.clone(), security_headers))
        .with_state(app)
}

fn unix_now() -> i64 {
    jiff::Timestamp::now().as_second()
}

// ---------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("database: {0}")]
    Store(#[from] sqlx::Error),
    #[error("template: {0}")]
    Template(#[from] askama::Error),
    #[error("kapu: {0}")]
    Provider(String),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        // An id the user can quote, and the log line that goes with it.
        let operation = crate::store::random_token()[..10].to_owned();
        tracing::error!(operation = %operation, error = %self, "request failed");
        let (status, page) = match self {
            // kapu refused or did not answer the pushed login request.
            AppError::Provider(_) => (
                StatusCode::BAD_GATEWAY,
                MessagePage {
                    c: Chrome::anonymous("Az Ügyfélkapu nem érhető el"),
                    heading: "Az Ügyfélkapu most nem érhető el",
                    lines: vec![
                        "A bejelentkezést nem sikerült elindítani, a bevallást nem küldtük el.".into(),
                        "Lépjen vissza a böngészővel (a beírt adatok ott vannak), és küldje be újra néhány perc múlva."
                            .into(),
                        format!("Hibaazonosító (az ügyfélszolgálatnak): {operation}"),
                    ],
                },
            ),
            _ => (
                StatusCode::INTERNAL_SERVER_ERROR,
                MessagePage {
                    c: Chrome::anonymous("Váratlan hiba"),
                    heading: "Váratlan hiba történt",
                    lines: vec![
                        "A kérést nem sikerült feldolgozni. Kérjük, próbálja újra később.".into(),
                        format!("Hibaazonosító (az ügyfélszolgálatnak): {operation}"),
                    ],
                },
            ),
        };
        let body = page.render().unwrap_or_else(|_| format!("Váratlan hiba történt. Hibaazonosító: {operation}"));
        (status, axum::response::Html(body)).into_response()
    }
}

type PageResult = Result<Response, AppError>;

// ---------------------------------------------------------------------------
// headers and cookies
// ---------------------------------------------------------------------------

async fn security_headers(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&app.csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // The callback URL carries a code: never send it on as a Referer.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_owned())
}

/// The session cookie (HttpOnly, SameSite=Lax, Secure on https); `max_age` only to delete it.
fn build_cookie(value: &str, secure: bool, max_age: Option<cookie::time::Duration>) -> String {
    // No Max-Age otherwise: the browser forgets it when it closes; the server ends it anyway.
    let mut c = Cookie::build((SESSION_COOKIE, value.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure);
    if let Some(age) = max_age {
        c = c.max_age(age);
    }
    c.build().to_string()
}

fn session_cookie(app: &App, token: &str) -> String {
    build_cookie(token, app.secure_cookies, None)
}

fn clear_session_cookie(app: &App) -> String {
    build_cookie("", app.secure_cookies, Some(cookie::time::Duration::ZERO))
}

fn with_cookie(mut response: Response, cookie: Option<String>) -> Response {
    if let Some(value) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

impl App {
    async fn session(&self, headers: &HeaderMap, now: i64) -> Result<Option<Session>, AppError> {
        match session_token(headers) {
            Some(token) => Ok(self.store.session(&token, now).await?),
            None => Ok(None),
        }
    }

    /// The browser's session, or a new one with the cookie to set.
    async fn session_or_new(&self, headers: &HeaderMap, now: i64) -> Result<(Session, Option<String>), AppError> {
        if let Some(session) = self.session(headers, now).await? {
            return Ok((session, None));
        }
        let (token, session) = self.store.new_session(now).await?;
        Ok((session, Some(session_cookie(self, &token))))
    }
}

fn csrf_ok(session: &Session, sent: &str) -> bool {
    !sent.is_empty() && bool::from(session.csrf.as_bytes().ct_eq(sent.as_bytes()))
}

// ---------------------------------------------------------------------------
// views
// ---------------------------------------------------------------------------

/// What every page has: title, the logged-in user, the CSRF token.
struct Chrome {
    title: &'static str,
    user: Option<String>,
    csrf: String,
}

impl Chrome {
    fn anonymous(title: &'static str) -> Self {
        Self { title, user: None, csrf: String::new() }
    }

    fn for_session(title: &'static str, session: &Session) -> Self {
        let user = session
            .identity
            .as_ref()
            .map(|i| i.name.clone().unwrap_or_else(|| "azonosított ügyfél".to_owned()).to_uppercase());
        Self { title, user, csrf: session.csrf.clone() }
    }
}

struct YearOption {
    value: i16,
    selected: bool,
}

/// The form as shown: the values (as typed) and their errors.
struct FormView {
    years: Vec<YearOption>,
    year_error: Option<String>,
    amount: String,
    amount_error: Option<String>,
    note: String,
    note_error: Option<String>,
}

impl FormView {
    fn new(years: &[i16], year: Option<i16>, amount: String, note: String) -> Self {
        let selected = year.filter(|y| years.contains(y)).or_else(|| years.first().copied());
        Self {
            years: years.iter().map(|&value| YearOption { value, selected: Some(value) == selected }).collect(),
            year_error: None,
            amount,
            amount_error: None,
            note,
            note_error: None,
        }
    }

    fn from_draft(years: &[i16], draft: Option<&Draft>) -> Self {
        match draft {
            Some(d) => Self::new(years, i16::try_from(d.tax_year).ok(), d.amount.to_string(), d.note.clone()),
            None => Self::new(years, None, String::new(), String::new()),
        }
    }

    fn errors(&self) -> Vec<FieldErrorView> {
        [("tax_year", &self.year_error), ("amount", &self.amount_error), ("note", &self.note_error)]
            .into_iter()
            .filter_map(|(id, e)| e.as_ref().map(|m| FieldErrorView { id, message: m.clone() }))
            .collect()
    }
}

struct FieldErrorView {
    id: &'static str,
    message: String,
}

/// Why nothing was filed, shown above the form.
struct ProblemView {
    title: &'static str,
    lines: Vec<String>,
}

struct ReturnView {
    reference: String,
    tax_year: i32,
    amount: String,
    submitted_at: String,
    auth_time: String,
    /// "saját maga", or the agent who filed it under a delegation.
    filed_by: String,
    agent: Option<String>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    c: Chrome,
    success: Option<String>,
    problem: Option<ProblemView>,
    errors: Vec<FieldErrorView>,
    form: FormView,
    /// `None` until the browser is identified (after the first accepted return).
    returns: Option<Vec<ReturnView>>,
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    c: Chrome,
    heading: &'static str,
    lines: Vec<String>,
}

fn page(status: StatusCode, template: &impl Template) -> PageResult {
    Ok((status, axum::response::Html(template.render()?)).into_response())
}

/// 1234567 → "1 234 567" (no-break spaces, as Hungarian writes it).
fn format_forint(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{a0}');
        }
        out.push(ch);
    }
    if amount < 0 { format!("-{out}") } else { out }
}

impl App {
    fn format_time(&self, unix: i64) -> String {
        match jiff::Timestamp::from_second(unix) {
            Ok(t) => t.to_zoned(self.time_zone.clone()).strftime("%Y. %m. %d. %H:%M:%S").to_string(),
            Err(_) => unix.to_string(),
        }
    }

    /// The tax years offered: the last few closed years, newest first.
    fn years(&self) -> Vec<i16> {
        let this_year = jiff::Timestamp::now().to_zoned(self.time_zone.clone()).year();
        (1..=YEARS_OFFERED).map(|back| this_year - back).collect()
    }

    async fn returns_view(&self, session: &Session) -> Result<Option<Vec<ReturnView>>, AppError> {
        let Some(identity) = &session.identity else { return Ok(None) };
        let filed = self.store.returns_for(&identity.sub).await?;
        Ok(Some(
            filed
                .into_iter()
                .map(|r| ReturnView {
                    reference: r.reference,
                    tax_year: r.draft.tax_year,
                    amount: format!("{}\u{a0}Ft", format_forint(r.draft.amount)),
                    submitted_at: self.format_time(r.submitted_at),
                    auth_time: self.format_time(r.auth_time),
                    filed_by: r.filed_by.clone().unwrap_or_else(|| "saját maga".to_owned()),
                    agent: r.filed_by,
                })
                .collect(),
        ))
    }

    async fn home_page(
        &self,
        session: &Session,
        form: FormView,
        problem: Option<ProblemView>,
    ) -> Result<HomePage, AppError> {
        Ok(HomePage {
            c: Chrome::for_session("Bevallás beadása", session),
            success: None,
            problem,
            errors: form.errors(),
            form,
            returns: self.returns_view(session).await?,
        })
    }
}

/// A form sent without a live session or with a wrong CSRF token.
fn stale_form() -> PageResult {
    let page_view = MessagePage {
        c: Chrome::anonymous("Lejárt űrlap"),
        heading: "Az űrlap lejárt",
        lines: vec![
            "Az űrlapot nem tudtuk elfogadni, mert lejárt, vagy nem ebből a böngészőből küldték. A bevallást nem adtuk be."
                .into(),
        ],
    };
    page(StatusCode::FORBIDDEN, &page_view)
}

// ---------------------------------------------------------------------------
// handlers
// ---------------------------------------------------------------------------

async fn css_get() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], CSS)
        .into_response()
}

#[derive(Deserialize, Default)]
struct HomeQuery {
    /// The filing number of a return just accepted.
    #[serde(default)]
    beadva: Option<String>,
}

async fn home_get(State(app): State<Arc<App>>, headers: HeaderMap, Query(q): Query<HomeQuery>) -> PageResult {
    let now = unix_now();
    let (session, new_cookie) = app.session_or_new(&headers, now).await?;
    let draft = app.store.draft(session.id, now).await?;
    let form = FormView::from_draft(&app.years(), draft.as_ref());
    let mut home = app.home_page(&session, form, None).await?;
    // Only a return of this user is confirmed; another filing number says nothing.
    if let (Some(reference), Some(list)) = (&q.beadva, &home.returns)
        && let Some(r) = list.iter().find(|r| &r.reference == reference)
    {
        let mut text = format!("Érkeztetési szám: {}. Adóév: {}.", r.reference, r.tax_year);
        if let Some(agent) = &r.agent {
            let taxpayer = session.identity.as_ref().and_then(|i| i.name.clone()).unwrap_or_default();
            text.push_str(&format!(" Beadta: {agent}, {taxpayer} nevében, meghatalmazás alapján."));
        }
        home.success = Some(text);
    }
    Ok(with_cookie(page(StatusCode::OK, &home)?, new_cookie))
}

#[derive(Deserialize, Default)]
struct SubmitForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    tax_year: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    note: String,
}

/// Parses the form into a draft, or the form again with its errors.
fn validate(form: &SubmitForm, years: &[i16]) -> Result<Draft, Box<FormView>> {
    let year = form.tax_year.trim().parse::<i16>().ok().filter(|y| years.contains(y));
    let digits: String = form.amount.chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '.')).collect();
    let amount = if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        None
    } else {
        digits.parse::<i64>().ok().filter(|a| (0..=AMOUNT_MAX).contains(a))
    };
    let note = form.note.trim().replace("\r\n", "\n");
    let note_ok = note.chars().count() <= NOTE_MAX_CHARS;
    if let (Some(year), Some(amount), true) = (year, amount, note_ok) {
        return Ok(Draft { tax_year: i32::from(year), amount, note });
    }
    let mut view = FormView::new(years, year, form.amount.clone(), form.note.clone());
    if year.is_none() {
        view.year_error = Some("Válassza ki az adóévet a listából.".into());
    }
    if amount.is_none() {
        view.amount_error = Some(if form.amount.trim().is_empty() {
            "Adja meg az összevont adóalapot.".into()
        } else {
            "Az összevont adóalapot egész forintban, számjegyekkel adja meg (például 4 850 000).".into()
        });
    }
    if !note_ok {
        view.note_error = Some(format!("A megjegyzés legfeljebb {NOTE_MAX_CHARS} karakter lehet."));
    }
    Err(Box::new(view))
}

/// "Bevallás beadása": keep the draft, then to kapu for a fresh login with a code.
async fn submit_post(State(app): State<Arc<App>>, headers: HeaderMap, Form(form): Form<SubmitForm>) -> PageResult {
    let now = unix_now();
    let Some(session) = app.session(&headers, now).await? else { return stale_form() };
    if !csrf_ok(&session, &form.csrf) {
        return stale_form();
    }
    match validate(&form, &app.years()) {
        Err(view) => {
            let home = app.home_page(&session, *view, None).await?;
            page(StatusCode::UNPROCESSABLE_ENTITY, &home)
        }
        Ok(draft) => {
            let login = app.oidc.start_login().await.map_err(|e| AppError::Provider(e.to_string()))?;
            app.store.save_draft(session.id, &draft, &login.pending, now).await?;
            Ok(Redirect::to(login.url.as_str()).into_response())
        }
    }
}

#[derive(Deserialize, Default)]
struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    iss: Option<String>,
}

/// Why a callback filed nothing.
#[derive(Debug)]
enum CallbackProblem {
    /// No live session, or its draft expired or was filed already.
    NoDraft,
    /// A draft, but no login waiting for this answer (used or replaced).
    NoPendingLogin,
    StateMismatch,
    /// RFC 9207 `iss` names another provider.
    WrongIssuer,
    /// "Azonosítás megszakítása" at kapu.
    Cancelled,
    ProviderError(String),
    NoCode,
    Login(LoginFailure),
    Refused(Refusal),
    /// Someone logged in on the taxpayer's behalf under a delegation that
    /// does not cover tax returns.
    NotDelegated {
        agent: String,
    },
}

impl CallbackProblem {
    fn status(&self) -> StatusCode {
        match self {
            CallbackProblem::Cancelled => StatusCode::OK,
            CallbackProblem::Refused(_) | CallbackProblem::NotDelegated { .. } => StatusCode::FORBIDDEN,
            CallbackProblem::Login(_) => StatusCode::BAD_GATEWAY,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn view(&self) -> ProblemView {
        const NOT_FILED: &str = "A bevallást nem adtuk be.";
        const AGAIN: &str = "A kitöltött adatokat megőriztük: a beadáshoz nyomja meg újra a „Bevallás beadása” gombot.";
        let (title, lines): (&'static str, Vec<String>) = match self {
            CallbackProblem::Cancelled => (
                "Az azonosítást megszakította",
                vec!["Az azonosítást megszakította; a bevallást nem adtuk be.".into(), AGAIN.into()],
            ),
            CallbackProblem::Refused(refusal) => (
                "A bevallást nem adtuk be",
                vec![
                    "A bevallás beadásához friss, kétlépcsős (Ügyfélkapu+) azonosítás szükséges.".into(),
                    refusal.reason_hu(),
                    AGAIN.into(),
                ],
            ),
            CallbackProblem::NotDelegated { agent } => (
                "A meghatalmazás nem terjed ki az adóbevallásra",
                vec![
                    format!("{agent} olyan meghatalmazással lépett be, amely nem az adóbevallásra szól."),
                    NOT_FILED.into(),
                    "Adóbevallást csak „Adóbevallás” ügytípusú meghatalmazással lehet más nevében beadni.".into(),
                ],
            ),
            CallbackProblem::NoDraft => (
                "Nincs beadásra váró bevallás",
                vec![
                    "Nem találtuk a beadásra váró bevallást: a kitöltött űrlap lejárt, már beadták, vagy a böngésző nem őrizte meg a munkamenetet."
                        .into(),
                    format!("{NOT_FILED} Kérjük, töltse ki újra az űrlapot."),
                ],
            ),
            CallbackProblem::NoPendingLogin => (
                "Ez az azonosítás már nem érvényes",
                vec![
                    "Ehhez a válaszhoz nem tartozik folyamatban lévő beadás: már feldolgoztuk, vagy azóta új beadást kezdett."
                        .into(),
                    NOT_FILED.into(),
                    AGAIN.into(),
                ],
            ),
            CallbackProblem::StateMismatch => (
                "Az azonosítás válasza nem ehhez a beadáshoz tartozik",
                vec![
                    "Az azonosító szolgáltatótól érkezett válasz nem az ebben a böngészőben indított beadáshoz tartozik (a state érték nem egyezik)."
                        .into(),
                    NOT_FILED.into(),
                    AGAIN.into(),
                ],
            ),
            CallbackProblem::WrongIssuer => (
                "Ismeretlen azonosító szolgáltató",
                vec![
                    "A válasz nem attól az azonosító szolgáltatótól érkezett, amelyhez a beadást küldtük.".into(),
                    NOT_FILED.into(),
                ],
            ),
            CallbackProblem::ProviderError(code) => (
                "Az azonosítás nem sikerült",
                vec![format!("Az azonosító szolgáltató hibát jelzett (hibakód: {code})."), NOT_FILED.into(), AGAIN.into()],
            ),
            CallbackProblem::NoCode => (
                "Hiányos válasz",
                vec!["Az azonosító szolgáltató válaszából hiányzik az engedélyezési kód.".into(), NOT_FILED.into()],
            ),
            CallbackProblem::Login(_) => (
                "Az azonosítás eredményét nem sikerült ellenőrizni",
                vec![
                    "Az azonosító szolgáltatótól kapott tokent nem sikerült lekérni vagy ellenőrizni.".into(),
                    NOT_FILED.into(),
                    AGAIN.into(),
                ],
            ),
        };
        ProblemView { title, lines }
    }
}

impl App {
    /// Checks the answer from kapu and files the draft; the new cookie token on success.
    async fn file_return(
        &self,
        session: &Session,
        q: CallbackQuery,
        now: i64,
    ) -> Result<Result<(String, String), CallbackProblem>, AppError> {
        let Some((draft, pending)) = self.store.take_pending_login(session.id, now).await? else {
            return Ok(Err(CallbackProblem::NoDraft));
        };
        let Some(pending) = pending else { return Ok(Err(CallbackProblem::NoPendingLogin)) };
        let state_matches =
            q.state.as_deref().is_some_and(|s| bool::from(s.as_bytes().ct_eq(pending.state.as_bytes())));
        if !state_matches {
            return Ok(Err(CallbackProblem::StateMismatch));
        }
        if q.iss.as_deref().is_some_and(|iss| iss != self.oidc.issuer()) {
            return Ok(Err(CallbackProblem::WrongIssuer));
        }
        match q.error.as_deref() {
            Some("access_denied") => return Ok(Err(CallbackProblem::Cancelled)),
            Some(code) => return Ok(Err(CallbackProblem::ProviderError(code.chars().take(64).collect()))),
            None => {}
        }
        let Some(code) = q.code.filter(|c| !c.is_empty()) else { return Ok(Err(CallbackProblem::NoCode)) };
        let login = match self.oidc.finish_login(code, &pending).await {
            Ok(login) => login,
            Err(e) => return Ok(Err(CallbackProblem::Login(e))),
        };
        // The token was checked just now: measure freshness against this moment.
        let checked_at = unix_now();
        if let Err(refusal) = check_login(&login.claims, checked_at) {
            return Ok(Err(CallbackProblem::Refused(refusal)));
        }
        // On a taxpayer's behalf: only under a delegation for tax returns.
        let acting = match login.acting() {
            Ok(acting) => acting,
            Err(e) => return Ok(Err(CallbackProblem::Login(LoginFailure::IdToken(e)))),
        };
        if let Some(a) = &acting
            && !a.matters.iter().any(|m| m == TAX_RETURN_MATTER)
        {
            return Ok(Err(CallbackProblem::NotDelegated { agent: a.agent_name.clone() }));
        }
        let claims = &login.claims;
        let sub = claims.subject().as_str().to_owned();
        let identity = Identity {
            sub: sub.clone(),
            name: claims.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_owned()),
            id_token: login.id_token.clone(),
        };
        let filed = TaxReturn {
            reference: new_reference(),
            sub,
            draft,
            submitted_at: checked_at,
            auth_time: LoginClaims::auth_time(claims).unwrap_or(checked_at),
            acr: LoginClaims::acr(claims).unwrap_or_default().to_owned(),
            amr: LoginClaims::amr(claims).into_iter().map(str::to_owned).collect(),
            filed_by: acting.map(|a| a.agent_name),
        };
        let token = self.store.accept(session.id, &filed, &identity).await?;
        tracing::info!(reference = %filed.reference, tax_year = filed.draft.tax_year, "tax return filed");
        Ok(Ok((token, filed.reference)))
    }
}

/// Back from kapu.
async fn callback_get(State(app): State<Arc<App>>, headers: HeaderMap, Query(q): Query<CallbackQuery>) -> PageResult {
    let now = unix_now();
    let session = app.session(&headers, now).await?;
    let outcome = match &session {
        Some(session) => app.file_return(session, q, now).await?,
        None => Err(CallbackProblem::NoDraft),
    };
    match outcome {
        Ok((token, reference)) => {
            let to = format!("/?beadva={reference}");
            Ok(with_cookie(Redirect::to(&to).into_response(), Some(session_cookie(&app, &token))))
        }
        Err(problem) => {
            match &problem {
                CallbackProblem::Login(e) => tracing::warn!(error = %e, "login result not accepted"),
                CallbackProblem::Cancelled => tracing::info!("the user cancelled the login"),
                other => tracing::info!(problem = ?other, "callback refused"),
            }
            // The form shows the draft again (kept on every problem).
            let (session, new_cookie) = match session {
                Some(s) => (s, None),
                None => app.session_or_new(&headers, now).await?,
            };
            let draft = app.store.draft(session.id, now).await?;
            let form = FormView::from_draft(&app.years(), draft.as_ref());
            let home = app.home_page(&session, form, Some(problem.view())).await?;
            Ok(with_cookie(page(problem.status(), &home)?, new_cookie))
        }
    }
}

#[derive(Deserialize, Default)]
struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// "Kijelentkezés": ends this service's session, then kapu's (RP-initiated logout).
async fn logout_post(State(app): State<Arc<App>>, headers: HeaderMap, Form(form): Form<LogoutForm>) -> PageResult {
    let now = unix_now();
    let Some(session) = app.session(&headers, now).await? else {
        return Ok(with_cookie(Redirect::to("/").into_response(), Some(clear_session_cookie(&app))));
    };
    if !csrf_ok(&session, &form.csrf) {
        return stale_form();
    }
    app.store.end_session(session.id).await?;
    let target = match &session.identity {
        Some(identity) => app.oidc.logout_url(&identity.id_token).await.map(|u| u.to_string()),
        None => None,
    };
    let target = target.unwrap_or_else(|| "/".to_owned());
    Ok(with_cookie(Redirect::to(&target).into_response(), Some(clear_session_cookie(&app))))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const YEARS: [i16; 5] = [2024, 2023, 2022, 2021, 2020];

    fn form(year: &str, amount: &str, note: &str) -> SubmitForm {
        SubmitForm { csrf: "x".into(), tax_year: year.into(), amount: amount.into(), note: note.into() }
    }

    #[test]
    fn the_form_becomes_a_draft() {
        let draft = validate(&form("2024", "4 850 000", "  Első  "), &YEARS).ok().unwrap();
        assert_eq!(draft, Draft { tax_year: 2024, amount: 4_850_000, note: "Első".into() });
        assert_eq!(validate(&form("2023", "0", ""), &YEARS).ok().unwrap().amount, 0);
    }

    #[test]
    fn wrong_fields_are_named() {
        let view = validate(&form("1999", "", ""), &YEARS).err().unwrap();
        let ids: Vec<_> = view.errors().iter().map(|e| e.id).collect();
        assert_eq!(ids, ["tax_year", "amount"]);
        let view = validate(&form("2024", "12a", &"x".repeat(NOTE_MAX_CHARS + 1)), &YEARS).err().unwrap();
        let ids: Vec<_> = view.errors().iter().map(|e| e.id).collect();
        assert_eq!(ids, ["amount", "note"]);
        assert_eq!(view.amount, "12a", "the value is shown as typed");
        assert!(validate(&form("2024", "-5", ""), &YEARS).is_err());
        assert!(validate(&form("2024", "1234567890123", ""), &YEARS).is_err());
    }

    #[test]
    fn forints_are_grouped_by_thousands() {
        assert_eq!(format_forint(0), "0");
        assert_eq!(format_forint(999), "999");
        assert_eq!(format_forint(1000), "1\u{a0}000");
        assert_eq!(format_forint(4_850_000), "4\u{a0}850\u{a0}000");
    }

    #[test]
    fn the_csrf_token_must_match() {
        let session = Session { id: 1, csrf: "abc".into(), identity: None };
        assert!(csrf_ok(&session, "abc"));
        assert!(!csrf_ok(&session, "abd"));
        assert!(!csrf_ok(&session, ""));
    }

    #[test]
    fn the_session_cookie_is_http_only_and_lax() {
        let headers = {
            let mut h = HeaderMap::new();
            h.insert(header::COOKIE, HeaderValue::from_static("kapu_session=k; bevallas_session=tok"));
            h
        };
        assert_eq!(session_token(&headers).as_deref(), Some("tok"));
        let cookie = Cookie::parse(build_cookie("t", false, None)).unwrap();
        assert_eq!(cookie.path(), Some("/"));
        assert_eq!(cookie.secure(), None);
        assert_eq!(Cookie::parse(build_cookie("t", true, None)).unwrap().secure(), Some(true));
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.same_site(), Some(SameSite::Lax));
    }
}
