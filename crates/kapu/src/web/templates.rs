//! Page templates (askama, HTML escaped by default) and the view types they
//! read. Pages are built from a few shapes: a form, a message, and a couple
//! of special pages; handlers fill them.

use askama::Template;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

use crate::Kapu;
use crate::accounts::model::Language;
use crate::accounts::service::{Field, FormErrors};
use crate::i18n::{self, Texts, fill, problem_text};
use crate::web::context::Ctx;
use crate::web::error::{ErrorKind, ErrorPage};

/// What the layout needs on every page.
pub struct Page {
    pub t: &'static Texts,
    pub lang: &'static str,
    pub csrf: String,
    pub path: String,
    pub title: String,
    pub user: Option<UserHeader>,
    pub case_handling_url: String,
    pub storage_url: String,
    pub notice: Option<String>,
    /// The notice informs or warns (blue) rather than confirms a success (green).
    pub notice_info: bool,
}

pub struct UserHeader {
    pub two_step_active: bool,
    /// Password-only after the cut-off: the menu lists only what it may use.
    pub restricted: bool,
    pub name_upper: String,
    pub seconds_left: i64,
    pub warning_seconds: i64,
    pub countdown: String,
}

pub fn mm_ss(seconds: i64) -> String {
    let s = seconds.max(0);
    format!("{:02}:{:02}", s / 60, s % 60)
}

impl Page {
    pub fn new(kapu: &Kapu, ctx: &Ctx, title: &str) -> Self {
        let user = ctx.session.as_ref().map(|s| {
            let left = kapu.session_seconds_left(s);
            UserHeader {
                two_step_active: s.two_step_active,
                restricted: ctx.restricted,
                name_upper: s.account.full_name.as_str().to_uppercase(),
                seconds_left: left,
                warning_seconds: kapu.config.session.warning_seconds,
                countdown: mm_ss(left),
            }
        });
        Self {
            t: ctx.t(),
            lang: ctx.lang.code(),
            csrf: ctx.csrf_token.clone(),
            path: ctx.path.clone(),
            title: title.to_owned(),
            user,
            case_handling_url: kapu.config.links.case_handling_url.clone(),
            storage_url: kapu.config.links.document_storage_url.clone(),
            notice: None,
            notice_info: false,
        }
    }

    /// A notice that confirms what the citizen just did.
    pub fn with_notice(mut self, notice: Option<String>) -> Self {
        self.notice = notice;
        self
    }

    /// A notice that informs or warns ("log in to see that page").
    pub fn with_info(mut self, notice: Option<String>) -> Self {
        self.notice = notice;
        self.notice_info = true;
        self
    }
}

pub struct ErrorItem {
    pub id: &'static str,
    pub message: String,
}

pub struct SelectOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// One input of a form, with its label, hint and error.
pub struct FieldView {
    pub id: &'static str,
    pub label: String,
    /// `text`, `password`, `email`, `checkbox` or `select`.
    pub kind: &'static str,
    pub value: String,
    pub required: bool,
    pub autocomplete: &'static str,
    pub hint: Option<String>,
    pub error: Option<String>,
    pub checked: bool,
    pub options: Vec<SelectOption>,
    pub maxlength: usize,
    pub autofocus: bool,
    pub describedby: String,
    /// `numeric` for codes: the phone keyboard shows digits.
    pub inputmode: &'static str,
    /// `code` or `revocation`: the input is as wide as what goes in it.
    pub width: &'static str,
}

impl FieldView {
    pub fn input(field: Field, kind: &'static str, label: &str, autocomplete: &'static str) -> Self {
        Self {
            id: field.id(),
            label: label.to_owned(),
            kind,
            value: String::new(),
            required: true,
            autocomplete,
            hint: None,
            error: None,
            checked: false,
            options: Vec::new(),
            maxlength: 1024,
            autofocus: false,
            describedby: String::new(),
            inputmode: "",
            width: "",
        }
    }

    pub fn text(field: Field, label: &str, autocomplete: &'static str, value: &str, maxlength: usize) -> Self {
        Self { value: value.to_owned(), maxlength, ..Self::input(field, "text", label, autocomplete) }
    }

    pub fn password(field: Field, label: &str, autocomplete: &'static str) -> Self {
        Self::input(field, "password", label, autocomplete)
    }

    pub fn checkbox(field: Field, label: &str, checked: bool, required: bool) -> Self {
        Self { checked, required, ..Self::input(field, "checkbox", label, "off") }
    }

    pub fn kind(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }

    pub fn hint(mut self, hint: String) -> Self {
        self.hint = Some(hint);
        self
    }

    /// A one-time code: digits keyboard, the browser may fill it from an SMS-less authenticator.
    pub fn code(field: Field, label: &str) -> Self {
        Self {
            inputmode: "numeric",
            maxlength: 16,
            width: "code",
            ..Self::input(field, "text", label, "one-time-code")
        }
    }

    pub fn focus(mut self) -> Self {
        self.autofocus = true;
        self
    }
}

pub struct LinkView {
    pub href: String,
    pub label: String,
}

impl LinkView {
    pub fn new(href: &str, label: &str) -> Self {
        Self { href: href.to_owned(), label: label.to_owned() }
    }
}

pub struct ButtonForm {
    pub action: String,
    pub label: String,
    /// Hidden fields the button sends along (name, value).
    pub hidden: Vec<(String, String)>,
    /// A secondary button (a "send it again" beside the message).
    pub secondary: bool,
}

#[derive(Template)]
#[template(path = "form.html")]
pub struct FormPage {
    pub p: Page,
    pub heading: String,
    pub intro: Vec<String>,
    pub errors: Vec<ErrorItem>,
    pub action: String,
    pub fields: Vec<FieldView>,
    pub has_required: bool,
    pub submit: String,
    pub links: Vec<LinkView>,
    /// Read-only data shown before the form (a verified identity).
    pub facts: Option<Facts>,
}

/// A titled list of read-only data, with a note under it.
pub struct Facts {
    pub heading: String,
    pub rows: Vec<(String, String)>,
    pub note: String,
}

impl FormPage {
    pub fn new(p: Page, heading: &str, action: &str, submit: &str, fields: Vec<FieldView>) -> Self {
        let has_required = fields.iter().any(|f| f.required && f.kind != "checkbox");
        Self {
            p,
            heading: heading.to_owned(),
            intro: Vec::new(),
            errors: Vec::new(),
            action: action.to_owned(),
            fields,
            has_required,
            submit: submit.to_owned(),
            links: Vec::new(),
            facts: None,
        }
    }

    pub fn intro(mut self, text: impl Into<String>) -> Self {
        self.intro.push(text.into());
        self
    }

    pub fn links(mut self, links: Vec<LinkView>) -> Self {
        self.links = links;
        self
    }

    /// A page-level error that belongs to no one field (e.g. a failed login).
    pub fn page_error(mut self, target: &'static str, message: String) -> Self {
        self.errors.push(ErrorItem { id: target, message });
        self
    }

    /// Puts each error next to its field and in the summary at the top.
    pub fn field_errors(mut self, errors: &FormErrors) -> Self {
        let t = self.p.t;
        for (field, problem) in &errors.0 {
            let message = problem_text(t, problem);
            if let Some(f) = self.fields.iter_mut().find(|f| f.id == field.id())
                && f.error.is_none()
            {
                f.error = Some(message.clone());
            }
            self.errors.push(ErrorItem { id: field.id(), message });
        }
        self
    }

    pub fn render(mut self) -> Result<Response, askama::Error> {
        for f in &mut self.fields {
            let mut ids = Vec::new();
            if f.hint.is_some() {
                ids.push(format!("{}-hint", f.id));
            }
            if f.error.is_some() {
                ids.push(format!("{}-error", f.id));
            }
            f.describedby = ids.join(" ");
        }
        html(&self)
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub p: Page,
    pub heading: String,
    pub paragraphs: Vec<String>,
    /// A list under the first paragraph.
    pub items: Vec<String>,
    pub buttons: Vec<ButtonForm>,
    pub links: Vec<LinkView>,
}

impl MessagePage {
    pub fn new(p: Page, heading: &str, text: impl Into<String>) -> Self {
        Self {
            p,
            heading: heading.to_owned(),
            paragraphs: vec![text.into()],
            items: Vec::new(),
            buttons: Vec::new(),
            links: Vec::new(),
        }
    }

    pub fn button(mut self, action: &str, label: &str) -> Self {
        self.buttons.push(ButtonForm {
            action: action.to_owned(),
            label: label.to_owned(),
            hidden: Vec::new(),
            secondary: false,
        });
        self
    }

    /// A primary button that posts `hidden` along.
    pub fn button_with(mut self, action: &str, label: &str, hidden: &[(&str, &str)]) -> Self {
        let hidden = hidden.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        self.buttons.push(ButtonForm { action: action.to_owned(), label: label.to_owned(), hidden, secondary: false });
        self
    }

    /// A secondary button that posts `hidden` along ("Nem kaptam meg a
    /// levelet", "Nem én voltam").
    pub fn secondary_button(mut self, action: &str, label: &str, hidden: &[(&str, &str)]) -> Self {
        let hidden = hidden.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        self.buttons.push(ButtonForm { action: action.to_owned(), label: label.to_owned(), hidden, secondary: true });
        self
    }

    pub fn link(mut self, href: &str, label: &str) -> Self {
        self.links.push(LinkView::new(href, label));
        self
    }

    pub fn render(self) -> Result<Response, askama::Error> {
        html(&self)
    }
}

/// `response_mode=form_post`: the response, posted to the service.
#[derive(Template)]
#[template(path = "form_post.html")]
pub struct FormPostPage {
    pub p: Page,
    pub action: String,
    pub fields: Vec<(String, String)>,
}

impl FormPostPage {
    pub fn render(self) -> Result<Response, askama::Error> {
        html(&self)
    }
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub p: Page,
    pub welcome: String,
    pub last_login: String,
    /// Ügyfélkapu+ on (since when) or off.
    pub plus_state: String,
    /// When one-step login ends, for an account without Ügyfélkapu+.
    pub deadline: Option<String>,
    /// The one thing to do next.
    pub next: LinkView,
    pub next_external: bool,
}

pub struct ActivityRow {
    pub time: String,
    pub event: String,
    pub address: String,
    pub outcome: String,
    pub failed: bool,
}

#[derive(Template)]
#[template(path = "activity.html")]
pub struct ActivityPage {
    pub p: Page,
    pub rows: Vec<ActivityRow>,
    pub zone_note: String,
}

pub struct SessionRow {
    /// What identifies the session in the form (its id hash: it opens nothing).
    pub handle: String,
    pub browser: String,
    pub address: String,
    pub started: String,
    pub last_used: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "sessions.html")]
pub struct SessionsPage {
    pub p: Page,
    pub rows: Vec<SessionRow>,
    pub ended: Option<String>,
    pub zone_note: String,
}

/// "Szolgáltatások": the services that receive identity data, by consent.
#[derive(Template)]
#[template(path = "services.html")]
pub struct ServicesPage {
    pub p: Page,
    pub rows: Vec<ServiceRow>,
}

#[derive(Template)]
#[template(path = "delegations.html")]
pub struct DelegationsPage {
    pub p: Page,
    /// Only a verified citizen may give a delegation.
    pub verified: bool,
    /// Waiting for this citizen's answer, given, received.
    pub sections: Vec<DelegationSection>,
}

pub struct DelegationSection {
    pub title: String,
    /// The other party's column heading.
    pub party_col: String,
    pub rows: Vec<DelegationRow>,
}

pub struct DelegationRow {
    /// The other party's verified name.
    pub party: String,
    pub matter: String,
    pub service: String,
    pub period: String,
    pub state: String,
    pub actions: Vec<DelegationAction>,
}

/// A button that posts the delegation's id to `action`.
pub struct DelegationAction {
    pub action: String,
    pub label: String,
    pub id: String,
}

pub struct ServiceRow {
    pub client_id: String,
    pub name: String,
    pub data: String,
    pub granted: String,
    pub last_used: String,
}

#[derive(Template)]
#[template(path = "plus.html")]
pub struct PlusPage {
    pub p: Page,
}

/// "Ügyfélkapu+ igénylése": the three steps on one page.
#[derive(Template)]
#[template(path = "plus_setup.html")]
pub struct PlusSetupPage {
    pub p: Page,
    pub heading: String,
    pub intro: String,
    pub manual: bool,
    pub key_grouped: String,
    pub errors: Vec<ErrorItem>,
    pub password_error: Option<String>,
    pub code_error: Option<String>,
}

/// "Törlőkód": shown once, to save and confirm.
#[derive(Template)]
#[template(path = "plus_revocation.html")]
pub struct PlusRevocationPage {
    pub p: Page,
    pub code: String,
    pub error: Option<String>,
}

pub fn html<T: Template>(page: &T) -> Result<Response, askama::Error> {
    let body = page.render()?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Html(body)).into_response())
}

/// The page for an [`ErrorPage`] marker, in the page's language. Errors are
/// rendered without the session header: the request may not have got that far.
pub fn render_error(kapu: &Kapu, lang: Language, error: &ErrorPage) -> Response {
    let t = i18n::texts(lang);
    let text = match error.kind {
        ErrorKind::BadRequest => t.error_bad_request.to_owned(),
        ErrorKind::BadForm => t.error_bad_form.to_owned(),
        ErrorKind::TooLarge => t.error_too_large.to_owned(),
        ErrorKind::TooSlow => t.error_too_slow.to_owned(),
        ErrorKind::Csrf => t.error_csrf.to_owned(),
        ErrorKind::NotFound => t.error_not_found.to_owned(),
        ErrorKind::Busy => t.busy.to_owned(),
        ErrorKind::Unavailable => t.unavailable.to_owned(),
        ErrorKind::Internal => fill(t.error_internal, &[("id", error.operation_id.as_deref().unwrap_or("-"))]),
    };
    let p = Page {
        t,
        lang: lang.code(),
        csrf: String::new(),
        path: "/".into(),
        title: t.error_title.to_owned(),
        user: None,
        case_handling_url: kapu.config.links.case_handling_url.clone(),
        storage_url: kapu.config.links.document_storage_url.clone(),
        notice: None,
        notice_info: false,
    };
    let page = MessagePage::new(p, t.error_title, text).link("/", t.back_home);
    match page.render() {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cannot render the error page");
            (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "error").into_response()
        }
    }
}
