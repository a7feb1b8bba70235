//! Ügyfélkapu+ end to end, computing codes from the key the page shows:
//! set-up, login with a code, replay, window edges, wrong-code limits and
//! unlock, the end of one-step login, a lost phone, a device change, the
//! office reset and a half-done set-up.

use kapu::accounts::model::Username;
use kapu::clock::Clock;
use kapu::store::repos::*;
use reqwest::StatusCode;

use crate::both_backends;
use crate::support::{Backend, TestApp, totp};

const PASSWORD: &str = "tavaszi szel vizet araszt";

both_backends!(
    set_up_and_log_in_with_a_code,
    a_used_code_is_never_accepted_again,
    racing_requests_with_one_code_have_one_winner,
    codes_one_step_early_or_late_are_accepted,
    wrong_codes_slow_down_then_lock_until_the_emailed_link,
    a_password_reset_keeps_two_step_login,
    one_step_login_ends_on_the_configured_date,
    a_lost_phone_is_cancelled_with_the_revocation_code,
    a_device_change_replaces_the_key,
    an_office_reset_turns_it_off,
    a_half_done_set_up_resumes_and_never_half_enables,
);

async fn citizen(app: &TestApp, username: &str) {
    app.register_confirmed(username, "Szücs Imre", &format!("{username}@example.hu"), PASSWORD).await;
    assert_eq!(app.login(username, PASSWORD).await.location.as_deref(), Some("/"));
}

async fn logout(app: &TestApp, client: &reqwest::Client) {
    let home = app.get_with(client, "/").await;
    if home.status == StatusCode::OK {
        app.post_with(client, "/logout", &[("csrf", &home.csrf())]).await;
    }
}

async fn set_up_and_log_in_with_a_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    citizen(&app, "imre").await;
    let intro = app.get("/plus").await;
    for text in
        ["NISZ Hitelesítő", "Google Authenticator", "Microsoft Authenticator", "Tovább az Ügyfélkapu+ igényléséhez"]
    {
        intro.assert_contains(text);
    }
    app.post("/plus/start", &[("csrf", &intro.csrf())]).await;
    let setup = app.get("/plus/setup").await;
    for text in [
        "1. QR-kód leolvasása",
        "Nem tudom beolvasni a kódot",
        "Új kódot kérek",
        "2. Ügyfélkapuhoz tartozó jelszó megadása",
        "3. Mobilalkalmazásban kapott azonosító",
    ] {
        setup.assert_contains(text);
    }
    assert!(!setup.contains("secret-key"), "the key is not on the QR page");
    let manual = app.get("/plus/setup?manual=1").await;
    manual.assert_contains("manuális beállítást");
    manual.assert_contains("Inkább kérem a QR-kódot");
    let key = manual.between("id=\"secret-key\">", "<");
    assert_eq!(key.len(), 39, "32 base32 characters in groups of four: {key}");
    assert_eq!(key.split(' ').count(), 8);

    // The QR code decodes to exactly the URI, and its key is the text key.
    let svg = app.get("/plus/setup/qr.svg").await;
    assert_eq!(svg.headers.get("content-type").unwrap(), "image/svg+xml");
    assert_eq!(svg.headers.get("cache-control").unwrap(), "no-store");
    let uri = decode_qr(&svg.body);
    let compact: String = key.split(' ').collect();
    assert_eq!(uri, format!("otpauth://totp/kapu:imre?secret={compact}&issuer=kapu&algorithm=SHA1&digits=6&period=30"));
    let parsed = otp::OtpAuthUri::parse(&uri).unwrap();
    assert_eq!(parsed.secret, otp::Secret::from_base32(&key).unwrap());
    assert_eq!(parsed.secret.len(), 20, "160 bits");

    // "Tovább" says which one was wrong.
    let csrf = manual.csrf();
    let code = app.code_for(&key, 0);
    let bad_password = app.post("/plus/setup", &[("csrf", &csrf), ("password", "rossz jelszo"), ("code", &code)]).await;
    assert_eq!(bad_password.status, StatusCode::UNPROCESSABLE_ENTITY);
    bad_password.assert_contains("A megadott jelszó nem megfelelő");
    assert!(!bad_password.contains("A kód nem megfelelő"));
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let bad_code = app.post("/plus/setup", &[("csrf", &csrf), ("password", PASSWORD), ("code", wrong)]).await;
    bad_code.assert_contains("A kód nem megfelelő");
    assert!(!bad_code.contains("A megadott jelszó nem megfelelő"));
    let short = app.post("/plus/setup", &[("csrf", &csrf), ("password", PASSWORD), ("code", "12345")]).await;
    short.assert_contains("6 számjegyből");
    let ok = app.post("/plus/setup", &[("csrf", &csrf), ("password", PASSWORD), ("code", &code)]).await;
    assert_eq!(ok.location.as_deref(), Some("/plus/revocation"));

    // "Törlőkód": shown, downloadable, and the box must be ticked (server side).
    let page = app.get("/plus/revocation").await;
    page.assert_contains("Törlőkód mentése");
    page.assert_contains("A fenti törlőkód mentéséről gondoskodtam");
    let revocation = page.between("id=\"revocation-code\">", "<");
    assert!(kapu::twostep::model::RevocationCode::parse(&revocation).is_some(), "{revocation}");
    assert_eq!(revocation.len(), 19);
    let file = app.get("/plus/revocation.txt").await;
    assert!(file.headers.get("content-disposition").unwrap().to_str().unwrap().starts_with("attachment"));
    file.assert_contains(&revocation);
    let unticked = app.post("/plus/finish", &[("csrf", &page.csrf())]).await;
    assert_eq!(unticked.status, StatusCode::UNPROCESSABLE_ENTITY);
    unticked.assert_contains("jelölje be");
    assert!(
        app.kapu.store.credential(&account_id(&app, "imre").await).await.unwrap().is_none(),
        "not on before Befejezés"
    );
    let done = app.post("/plus/finish", &[("csrf", &page.csrf()), ("saved", "yes")]).await;
    assert_eq!(done.location.as_deref(), Some("/plus/done"));
    app.get("/plus/done").await.assert_contains("sikeresen aktiválta");
    let home = app.get("/").await;
    home.assert_contains("Ügyfélkapu+ beállítás másik eszközre");
    assert!(!home.contains("Ügyfélkapu+ igénylése"));
    // Shown once: the revocation code is gone from every page now.
    assert_eq!(app.get("/plus/revocation").await.location.as_deref(), Some("/plus"));
    assert_eq!(app.get("/plus/revocation.txt").await.status, StatusCode::NOT_FOUND);

    // The secret is sealed at rest: the raw key is not in the row.
    let stored = app.kapu.store.credential(&account_id(&app, "imre").await).await.unwrap().unwrap();
    let raw = otp::Secret::from_base32(&key).unwrap();
    assert!(!stored.secret_sealed.windows(20).any(|w| w == raw.expose_bytes()));
    assert!(!stored.revocation_hash.contains(&revocation.replace(' ', "")));

    // Log in with two steps.
    logout(&app, &app.client).await;
    app.clock.advance(30);
    let first = app.login("imre", PASSWORD).await;
    assert_eq!(first.location.as_deref(), Some("/login/code"));
    assert_eq!(app.get("/").await.status, StatusCode::SEE_OTHER, "no session before the code");
    let code_page = app.get("/login/code").await;
    code_page.assert_contains("Ügyfélkapu+ azonosító");
    code_page.assert_contains(&format!("A szerver ideje: {}", app.kapu.format_time(app.clock.now())));
    let logged_in = app.submit("/login/code", "/login/code", &[("code", &app.code_for(&key, 0))]).await;
    assert_eq!(logged_in.location.as_deref(), Some("/"), "{}", logged_in.body);
    app.get("/").await.assert_contains("BEJELENTKEZVE:");
    let events: Vec<String> = app.kapu.admin_audit("imre", 50).await.unwrap().into_iter().map(|e| e.event).collect();
    assert!(events.contains(&"two_step_enabled".to_owned()), "{events:?}");
    app.mail_with_subject("Ügyfélkapu+ bekapcsolva").await;
    app.stop().await;
}

async fn account_id(app: &TestApp, username: &str) -> kapu::accounts::model::AccountId {
    app.kapu.store.account_by_username(&Username::parse(username).unwrap()).await.unwrap().unwrap().id
}

fn decode_qr(svg: &str) -> String {
    let (size, dark) = kapu::twostep::qr::modules(svg).expect("an SVG made by kapu");
    let scale = 4;
    let side = size * scale;
    let mut pixels = vec![255u8; side * side];
    for (x, y) in dark {
        for dy in 0..scale {
            for dx in 0..scale {
                pixels[(y * scale + dy) * side + x * scale + dx] = 0;
            }
        }
    }
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| pixels[y * side + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().unwrap().1
}

async fn a_used_code_is_never_accepted_again(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    citizen(&app, "ujra").await;
    let (key, _) = app.enable_two_step(PASSWORD).await;
    logout(&app, &app.client).await;
    let code = app.code_for(&key, 0);
    assert_eq!(app.login_with_code(&app.client, "ujra", PASSWORD, &code).await.location.as_deref(), Some("/"));
    logout(&app, &app.client).await;
    let again = app.login_with_code(&app.client, "ujra", PASSWORD, &code).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    // Said as it is, and not counted as a wrong code (a double click is no guess).
    again.assert_contains("Ezt a kódot már felhasználta");
    assert_eq!(app.kapu.store.credential(&account_id(&app, "ujra").await).await.unwrap().unwrap().failed_codes, 0);
    // Nor a code from the step before the one used: steps only move forward.
    assert_eq!(
        app.login_with_code(&app.client, "ujra", PASSWORD, &app.code_for(&key, -30)).await.status,
        StatusCode::UNAUTHORIZED
    );
    app.clock.advance(30);
    // Typed as an app shows it ("123-456", "123 456"): dashes and spaces do not count.
    let shown = app.code_for(&key, 0);
    let next = app.login_with_code(&app.client, "ujra", PASSWORD, &format!("{}-{}\n", &shown[..3], &shown[3..])).await;
    assert_eq!(next.location.as_deref(), Some("/"));
    app.stop().await;
}

/// Two browsers (and two instances on one database) send the same code at
/// once: the atomic update lets exactly one through.
async fn racing_requests_with_one_code_have_one_winner(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    citizen(&app, "verseny").await;
    let (key, _) = app.enable_two_step(PASSWORD).await;
    let second = app.second_instance().await;
    for round in 0..3 {
        // A correct login first: it resets the wrong-code count, which the
        // losers of the previous round raised (a replayed code counts as wrong).
        app.clock.advance(30);
        let reset = app.new_browser();
        assert_eq!(
            app.login_with_code(&reset, "verseny", PASSWORD, &app.code_for(&key, 0)).await.location.as_deref(),
            Some("/")
        );
        app.clock.advance(30);
        let mut tasks = Vec::new();
        for i in 0..5 {
            let client = app.new_browser();
            // Half the browsers talk to the other instance.
            let base = if i % 2 == 0 { app.url.clone() } else { second.url.clone() };
            let first = app.login_with(&client, "verseny", PASSWORD).await; // password step on the first instance...
            assert_eq!(first.location.as_deref(), Some("/login/code"));
            let form = app.get_with(&client, &format!("{base}/login/code")).await; // ...code step on either
            tasks.push((client, base, form.csrf()));
        }
        let code = app.code_for(&key, 0);
        let handles: Vec<_> = tasks
            .into_iter()
            .map(|(client, base, csrf)| {
                let code = code.clone();
                tokio::spawn(async move {
                    client
                        .post(format!("{base}/login/code"))
                        .form(&[("csrf", csrf.as_str()), ("code", code.as_str())])
                        .send()
                        .await
                        .unwrap()
                        .status()
                })
            })
            .collect();
        let mut winners = 0;
        for h in handles {
            if h.await.unwrap() == StatusCode::SEE_OTHER {
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "round {round}: exactly one request may use the code");
    }
    second.stop().await;
    app.stop().await;
}

async fn codes_one_step_early_or_late_are_accepted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    citizen(&app, "ora").await;
    let (key, _) = app.enable_two_step(PASSWORD).await;
    logout(&app, &app.client).await;
    // Away from the step used to confirm the set-up.
    app.clock.advance(60);
    // Two steps off either way: refused, with exactly the answer a random
    // wrong code gets (no hint that the code is right at another time).
    let random_wrong = {
        let valid: Vec<String> = (-3..=3).map(|s| app.code_for(&key, s * 30)).collect();
        (0..1000).map(|n| format!("{n:06}")).find(|c| !valid.contains(c)).unwrap()
    };
    let baseline = app.login_with_code(&app.client, "ora", PASSWORD, &random_wrong).await;
    for offset in [-60, 60] {
        let page = app.login_with_code(&app.client, "ora", PASSWORD, &app.code_for(&key, offset)).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "offset {offset}");
        assert_eq!(page.between("<main", "</main>"), baseline.between("<main", "</main>"), "offset {offset}");
    }
    // One step early (a phone clock 30 s behind): accepted.
    assert_eq!(
        app.login_with_code(&app.client, "ora", PASSWORD, &app.code_for(&key, -30)).await.location.as_deref(),
        Some("/")
    );
    logout(&app, &app.client).await;
    // One step late (phone ahead): accepted, and newer than the last one.
    assert_eq!(
        app.login_with_code(&app.client, "ora", PASSWORD, &app.code_for(&key, 30)).await.location.as_deref(),
        Some("/")
    );
    logout(&app, &app.client).await;
    // The current step is now behind the last accepted one: refused.
    assert_eq!(
        app.login_with_code(&app.client, "ora", PASSWORD, &app.code_for(&key, 0)).await.status,
        StatusCode::UNAUTHORIZED
    );
    // The half-logged-in state expires after a few minutes.
    let first = app.login("ora", PASSWORD).await;
    assert_eq!(first.location.as_deref(), Some("/login/code"));
    app.clock.advance(301);
    assert_eq!(app.get("/login/code").await.location.as_deref(), Some("/login?msg=pending_expired"));
    app.stop().await;
}

async fn wrong_codes_slow_down_then_lock_until_the_emailed_link(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    citizen(&app, "talalgato").await;
    let (key, _) = app.enable_two_step(PASSWORD).await;
    logout(&app, &app.client).await;
    let first = app.login("talalgato", PASSWORD).await;
    assert_eq!(first.location.as_deref(), Some("/login/code"));
    let csrf = app.get("/login/code").await.csrf();
    let wrong = |offset: i64| {
        // A code that is right at no step of the window.
        let valid: Vec<String> = (-1..=1).map(|s| app.code_for(&key, offset + s * 30)).collect();
        (0..1000).map(|n| format!("{n:06}")).find(|c| !valid.contains(c)).unwrap()
    };
    let mut statuses = Vec::new();
    let mut waits = Vec::new();
    for attempt in 1..=20 {
        let page = app.post("/login/code", &[("csrf", &csrf), ("code", &wrong(0))]).await;
        statuses.push(page.status);
        if attempt < 5 {
            assert_eq!(page.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
        } else if attempt < 20 {
            assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "attempt {attempt}");
            // Blocked: even the right code is not checked now.
            let blocked = app.post("/login/code", &[("csrf", &csrf), ("code", &app.code_for(&key, 0))]).await;
            assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
            let cred = app.kapu.store.credential(&account_id(&app, "talalgato").await).await.unwrap().unwrap();
            waits.push(cred.code_blocked_until - app.clock.now());
            app.clock.advance(cred.code_blocked_until - app.clock.now());
            // Keep the half-finished login alive: log in again with the password when it expired.
            if app.get("/login/code").await.status != StatusCode::OK {
                assert_eq!(app.login("talalgato", PASSWORD).await.location.as_deref(), Some("/login/code"));
            }
        } else {
            page.assert_contains("zároltuk");
        }
    }
    assert_eq!(&waits[..4], &[60, 120, 240, 480], "waits double from one minute");
    // Locked: no code at all is checked any more, also hours later.
    app.clock.advance(12 * 3600);
    assert_eq!(app.login("talalgato", PASSWORD).await.location.as_deref(), Some("/login/code"));
    let locked = app.submit("/login/code", "/login/code", &[("code", &app.code_for(&key, 0))]).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    // So an attacker with the password had 20 guesses at 3 of 10^6 codes: 6e-5.
    let cred = app.kapu.store.credential(&account_id(&app, "talalgato").await).await.unwrap().unwrap();
    assert!(cred.code_locked && cred.failed_codes == 20);
    let attempts_bound = cred.failed_codes as f64 * 3.0 / 1e6;
    assert!(attempts_bound <= 6e-5);

    // The lock mailed an unlock link; the try hours later mailed a fresh one
    // (which replaces it). It asks for a valid code and is single use.
    let unlock_mails = app.mails_with_subject("zárolva", 2).await;
    let first_link = app.link_in(&unlock_mails[0]);
    assert_eq!(app.get(&first_link).await.status, StatusCode::GONE, "replaced by the fresh link");
    let link = app.link_in(&unlock_mails[1]);
    let form = app.get(&link).await;
    form.assert_contains("Kódos azonosítás feloldása");
    let bad = app.post(&link, &[("csrf", &form.csrf()), ("code", &wrong(0))]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let good = app.post(&link, &[("csrf", &form.csrf()), ("code", &app.code_for(&key, 0))]).await;
    assert_eq!(good.location.as_deref(), Some("/login?msg=unlocked"));
    assert_eq!(app.get(&link).await.status, StatusCode::GONE, "single use");
    app.clock.advance(30);
    let ok = app.login_with_code(&app.client, "talalgato", PASSWORD, &app.code_for(&key, 0)).await;
    assert_eq!(ok.location.as_deref(), Some("/"));
    let events: Vec<String> =
        app.kapu.admin_audit("talalgato", 100).await.unwrap().into_iter().map(|e| e.event).collect();
    assert!(events.contains(&"code_locked".to_owned()) && events.contains(&"code_unlocked".to_owned()));
    app.stop().await;
}

async fn a_password_reset_keeps_two_step_login(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    citizen(&app, "visszaallito").await;
    let (key, _) = app.enable_two_step(PASSWORD).await;
    logout(&app, &app.client).await;
    let before = app.mail_count().await;
    app.submit("/password/forgot", "/password/forgot", &[("username", "visszaallito")]).await;
    let link = app.link_in(app.mails(before + 1).await.last().unwrap());
    let form = app.get(&link).await;
    let new_password = "nyari zapor hamar elmulik";
    app.post(&link, &[("csrf", &form.csrf()), ("password", new_password), ("password_again", new_password)]).await;
    // The new password leads to the code page, not into the account.
    let first = app.login("visszaallito", new_password).await;
    assert_eq!(first.location.as_deref(), Some("/login/code"));
    let done = app.submit("/login/code", "/login/code", &[("code", &app.code_for(&key, 0))]).await;
    assert_eq!(done.location.as_deref(), Some("/"));
    app.stop().await;
}

async fn one_step_login_ends_on_the_configured_date(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.two_step.legacy_login_until = Some("2025-01-16".into())).await;
    let before: jiff::Timestamp = "2025-01-16T12:00:00Z".parse().unwrap();
    let after: jiff::Timestamp = "2025-01-17T08:00:00Z".parse().unwrap();
    app.clock.set(before.as_second());
    citizen(&app, "regimodi").await;
    // Before the date: password-only accounts use everything.
    assert_eq!(app.get("/settings").await.status, StatusCode::OK);
    logout(&app, &app.client).await;
    app.clock.set(after.as_second());
    assert_eq!(app.login("regimodi", PASSWORD).await.location.as_deref(), Some("/"));
    // After it: only set-up, password change and logout.
    for path in ["/", "/settings", "/account", "/activity", "/account/delete"] {
        assert_eq!(app.get(path).await.location.as_deref(), Some("/plus?msg=restricted"), "{path}");
    }
    let plus = app.get("/plus?msg=restricted").await;
    plus.assert_contains("2025-01-16");
    plus.assert_contains("megszűnt");
    assert_eq!(app.get("/password/change").await.status, StatusCode::OK);
    // A password alone may set the app up, but not make it active: that
    // waits for the link mailed to the account's address.
    let (key, _, finished) = app.finish_two_step_set_up(&app.client, PASSWORD).await;
    assert_eq!(finished.location.as_deref(), Some("/plus/waiting"), "{}", finished.body);
    app.get("/plus/waiting").await.assert_contains("regimodi@example.hu");
    let id = account_id(&app, "regimodi").await;
    assert!(app.kapu.store.credential(&id).await.unwrap().is_none(), "not active before the link");
    assert_eq!(app.get("/settings").await.location.as_deref(), Some("/plus?msg=restricted"), "still restricted");
    let mail = app.mail_with_subject("bekapcsolásának megerősítése").await;
    assert!(mail.text.contains("Nem én voltam") && mail.text.contains("127.0.0.1"), "{}", mail.text);
    let link = app.link_in(&mail);
    // Opened elsewhere (the mailbox's browser): it names the account and asks.
    let mailbox = app.new_browser();
    let page = app.get_with(&mailbox, &link).await;
    page.assert_contains("regimodi");
    let activated = app.post_with(&mailbox, &link, &[("csrf", &page.csrf())]).await;
    assert_eq!(activated.status, StatusCode::OK, "{}", activated.body);
    assert!(app.kapu.store.credential(&id).await.unwrap().is_some());
    assert_eq!(app.get_with(&mailbox, &link).await.status, StatusCode::GONE, "single use");
    // Every session ended: the password-only one too.
    assert_eq!(app.get("/plus").await.location.as_deref(), Some("/login?msg=expired"));
    app.clock.advance(30);
    let full = app.login_with_code(&app.client, "regimodi", PASSWORD, &app.code_for(&key, 0)).await;
    assert_eq!(full.location.as_deref(), Some("/"));
    assert_eq!(app.get("/settings").await.status, StatusCode::OK, "a two-step session is not restricted");
    let events: Vec<String> =
        app.kapu.admin_audit("regimodi", 50).await.unwrap().into_iter().map(|e| e.event).collect();
    assert!(
        events.contains(&"two_step_activation_requested".to_owned()) && events.contains(&"two_step_enabled".to_owned())
    );

    // Someone else with the password: the owner refuses from the mail, and
    // the office can still confirm a waiting set-up when the mailbox is lost.
    app.register_confirmed("masik", "Másik Mária", "masik@example.hu", PASSWORD).await;
    let thief = app.new_browser();
    assert_eq!(app.login_with(&thief, "masik", PASSWORD).await.location.as_deref(), Some("/"));
    let (_, _, finished) = app.finish_two_step_set_up(&thief, PASSWORD).await;
    assert_eq!(finished.location.as_deref(), Some("/plus/waiting"));
    let link = app.link_in(&app.mails_with_subject("bekapcsolásának megerősítése", 2).await[1]);
    let page = app.get(&link).await;
    let refused = app.post(&link, &[("csrf", &page.csrf()), ("refuse", "yes")]).await;
    refused.assert_contains("Elutasította");
    let masik = account_id(&app, "masik").await;
    assert!(app.kapu.store.credential(&masik).await.unwrap().is_none());
    assert!(app.kapu.office_confirm_two_step("masik", "ID card checked").await.is_err(), "nothing waits now");
    let (_, _, finished) = app.finish_two_step_set_up(&thief, PASSWORD).await;
    assert_eq!(finished.location.as_deref(), Some("/plus/waiting"));
    app.kapu.office_confirm_two_step("masik", "ID card checked at the office").await.unwrap();
    assert!(app.kapu.store.credential(&masik).await.unwrap().is_some());
    app.stop().await;
}

async fn a_lost_phone_is_cancelled_with_the_revocation_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    citizen(&app, "elhagyo").await;
    let (key, revocation) = app.enable_two_step(PASSWORD).await;
    let laptop = app.new_browser();
    app.login_with_code(&laptop, "elhagyo", PASSWORD, &app.code_for(&key, 0)).await;
    app.clock.advance(30);
    let lost = app.get("/login/lost").await;
    lost.assert_contains("Elveszett a telefonom");
    // The field takes the code as kapu shows it ("1234 5678 9012 3456").
    lost.assert_contains(
        r#"id="revocation_code" name="revocation_code" value="" autocomplete="one-time-code" maxlength="64""#,
    );
    // What cannot be a code is said at once and uses no try: six of them,
    // more than the five tries, and the limit below still starts at zero.
    for _ in 0..6 {
        let short = app
            .post(
                "/login/lost",
                &[
                    ("csrf", &lost.csrf()),
                    ("username", "elhagyo"),
                    ("password", PASSWORD),
                    ("revocation_code", "7415 0376 7763 988"),
                ],
            )
            .await;
        assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
        short.assert_contains("A törlőkód 16 számjegyből áll");
    }
    // Wrong data (and unknown names) get the same answer.
    let wrong_code = "1111 2222 3333 4444";
    let unknown = app
        .post(
            "/login/lost",
            &[
                ("csrf", &lost.csrf()),
                ("username", "nincs.ilyen"),
                ("password", PASSWORD),
                ("revocation_code", wrong_code),
            ],
        )
        .await;
    let wrong = app
        .post(
            "/login/lost",
            &[("csrf", &lost.csrf()), ("username", "elhagyo"), ("password", PASSWORD), ("revocation_code", wrong_code)],
        )
        .await;
    assert_eq!((unknown.status, wrong.status), (StatusCode::UNPROCESSABLE_ENTITY, StatusCode::UNPROCESSABLE_ENTITY));
    unknown.assert_contains("A felhasználónév, a jelszó vagy a törlőkód nem megfelelő");
    wrong.assert_contains("A felhasználónév, a jelszó vagy a törlőkód nem megfelelő");
    // Five tries per 15 minutes per account.
    for _ in 0..4 {
        app.post(
            "/login/lost",
            &[("csrf", &lost.csrf()), ("username", "elhagyo"), ("password", PASSWORD), ("revocation_code", wrong_code)],
        )
        .await;
    }
    let blocked = app
        .post(
            "/login/lost",
            &[
                ("csrf", &lost.csrf()),
                ("username", "elhagyo"),
                ("password", PASSWORD),
                ("revocation_code", &revocation),
            ],
        )
        .await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(901);
    // Copied with dashes and a line break: still the code.
    let done = app
        .post(
            "/login/lost",
            &[
                ("csrf", &lost.csrf()),
                ("username", "elhagyo"),
                ("password", PASSWORD),
                ("revocation_code", &format!("{}\r\n", revocation.replace(' ', "-"))),
            ],
        )
        .await;
    assert_eq!(done.location.as_deref(), Some("/login?msg=lost_done"), "{}", done.body);
    // All sessions ended, the old key is gone, the account is password-only again.
    assert_eq!(app.get_with(&laptop, "/").await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.login("elhagyo", PASSWORD).await.location.as_deref(), Some("/"));
    assert!(app.kapu.store.credential(&account_id(&app, "elhagyo").await).await.unwrap().is_none());
    app.mail_with_subject("Ügyfélkapu+ megszüntetve").await;
    // Everything else about the account is kept.
    let account = app.kapu.store.account_by_username(&Username::parse("elhagyo").unwrap()).await.unwrap().unwrap();
    assert_eq!(account.full_name.as_str(), "Szücs Imre");
    app.stop().await;
}

async fn a_device_change_replaces_the_key(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    citizen(&app, "telefoncsere").await;
    let (old_key, old_revocation) = app.enable_two_step(PASSWORD).await;
    let device = app.get("/plus/device").await;
    device.assert_contains("Ügyfélkapu+ beállítás másik eszközre");
    let wrong = app.post("/plus/device", &[("csrf", &device.csrf()), ("password", PASSWORD), ("code", "000000")]).await;
    assert!(wrong.status.is_client_error());
    app.clock.advance(30);
    let ok = app
        .post("/plus/device", &[("csrf", &device.csrf()), ("password", PASSWORD), ("code", &app.code_for(&old_key, 0))])
        .await;
    assert_eq!(ok.location.as_deref(), Some("/plus/setup"), "{}", ok.body);
    let manual = app.get("/plus/setup?manual=1").await;
    let new_key = manual.between("id=\"secret-key\">", "<");
    assert_ne!(new_key, old_key);
    // Until the new key is finished, the old one still logs in.
    app.clock.advance(30);
    let other = app.new_browser();
    assert_eq!(
        app.login_with_code(&other, "telefoncsere", PASSWORD, &app.code_for(&old_key, 0)).await.location.as_deref(),
        Some("/")
    );
    app.clock.advance(30);
    let confirmed = app
        .post("/plus/setup", &[("csrf", &manual.csrf()), ("password", PASSWORD), ("code", &app.code_for(&new_key, 0))])
        .await;
    assert_eq!(confirmed.location.as_deref(), Some("/plus/revocation"));
    let page = app.get("/plus/revocation").await;
    let new_revocation = page.between("id=\"revocation-code\">", "<");
    assert_ne!(new_revocation, old_revocation, "a new revocation code");
    let done = app.post("/plus/finish", &[("csrf", &page.csrf()), ("saved", "yes")]).await;
    assert_eq!(done.location.as_deref(), Some("/plus/done?device=1"));
    app.clock.advance(30);
    let third = app.new_browser();
    assert_eq!(
        app.login_with_code(&third, "telefoncsere", PASSWORD, &app.code_for(&old_key, 0)).await.status,
        StatusCode::UNAUTHORIZED,
        "old key dead"
    );
    let fourth = app.new_browser();
    assert_eq!(
        app.login_with_code(&fourth, "telefoncsere", PASSWORD, &app.code_for(&new_key, 0)).await.location.as_deref(),
        Some("/")
    );
    let events: Vec<String> =
        app.kapu.admin_audit("telefoncsere", 100).await.unwrap().into_iter().map(|e| e.event).collect();
    assert!(events.contains(&"two_step_device_changed".to_owned()));
    app.stop().await;
}

async fn an_office_reset_turns_it_off(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    citizen(&app, "kormanyablak").await;
    app.enable_two_step(PASSWORD).await;
    assert!(app.kapu.office_reset_two_step("kormanyablak", "  ").await.is_err(), "a reason is required");
    app.kapu.office_reset_two_step("kormanyablak", "személyi igazolvány ellenőrizve, XI. kerület").await.unwrap();
    assert_eq!(app.get("/").await.status, StatusCode::SEE_OTHER, "sessions ended");
    assert_eq!(app.login("kormanyablak", PASSWORD).await.location.as_deref(), Some("/"), "password-only again");
    let events = app.kapu.admin_audit("kormanyablak", 100).await.unwrap();
    let reset = events.iter().find(|e| e.event == "two_step_reset").expect("audited");
    assert!(reset.detail.as_deref().unwrap().contains("igazolvány"));
    app.mail_with_subject("kormányablakban").await;
    assert!(app.kapu.office_reset_two_step("kormanyablak", "again").await.is_err(), "not on any more");
    app.stop().await;
}

async fn a_half_done_set_up_resumes_and_never_half_enables(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    citizen(&app, "felbehagyo").await;
    let intro = app.get("/plus").await;
    app.post("/plus/start", &[("csrf", &intro.csrf())]).await;
    let key1 = app.get("/plus/setup?manual=1").await.between("id=\"secret-key\">", "<");
    // Leaving and coming back resumes the same key.
    app.get("/settings").await;
    app.post("/plus/start", &[("csrf", &intro.csrf())]).await;
    let page = app.get("/plus/setup?manual=1").await;
    assert_eq!(page.between("id=\"secret-key\">", "<"), key1);
    // "Új kódot kérek" replaces it; the old key no longer confirms.
    app.post("/plus/setup/new", &[("csrf", &page.csrf()), ("manual", "1")]).await;
    let page = app.get("/plus/setup?manual=1").await;
    let key2 = page.between("id=\"secret-key\">", "<");
    assert_ne!(key1, key2);
    let stale = app
        .post("/plus/setup", &[("csrf", &page.csrf()), ("password", PASSWORD), ("code", &app.code_for(&key1, 0))])
        .await;
    assert_eq!(stale.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Confirmed but not finished: the account is still password-only.
    app.post("/plus/setup", &[("csrf", &page.csrf()), ("password", PASSWORD), ("code", &app.code_for(&key2, 0))]).await;
    let other = app.new_browser();
    assert_eq!(app.login_with(&other, "felbehagyo", PASSWORD).await.location.as_deref(), Some("/"));
    // Resuming lands on the revocation page; finishing turns it on.
    assert_eq!(app.get("/plus/setup").await.location.as_deref(), Some("/plus/revocation"));
    let rev = app.get("/plus/revocation").await;
    app.post("/plus/finish", &[("csrf", &rev.csrf()), ("saved", "yes")]).await;
    assert!(app.kapu.store.credential(&account_id(&app, "felbehagyo").await).await.unwrap().is_some());
    // A set-up left too long expires and starts over.
    let app2 = TestApp::spawn(backend).await;
    citizen(&app2, "lassu").await;
    let intro = app2.get("/plus").await;
    app2.post("/plus/start", &[("csrf", &intro.csrf())]).await;
    for _ in 0..4 {
        app2.clock.advance(451);
        assert_eq!(app2.get("/settings").await.status, StatusCode::OK, "the session stays alive");
    }
    assert_eq!(app2.get("/plus/setup").await.location.as_deref(), Some("/plus?msg=setup_expired"));
    assert!(app2.kapu.store.credential(&account_id(&app2, "lassu").await).await.unwrap().is_none());
    let _ = totp(&key2);
    app.stop().await;
    app2.stop().await;
}
