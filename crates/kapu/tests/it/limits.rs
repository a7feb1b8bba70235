//! The limits hold under concurrency: many requests released at the same
//! moment from raw sockets (see `support::burst`), on one instance and split
//! across two instances on one database, on SQLite and on PostgreSQL. Each
//! test asserts exactly how many attempts were checked.

use std::sync::Arc;

use kapu::accounts::model::Username;
use kapu::clock::Clock;
use kapu::store::repos::*;
use reqwest::StatusCode;
use reqwest::cookie::Jar;

use crate::both_backends;
use crate::support::burst::{RawRequest, RawResponse, burst, statuses};
use crate::support::{Backend, TestApp};

const PASSWORD: &str = "tavaszi szel vizet araszt";

both_backends!(
    wrong_codes_at_once_are_checked_twenty_times_then_locked,
    wrong_codes_at_once_across_two_instances_are_checked_twenty_times,
    with_the_default_limits_a_burst_checks_five_and_every_wait_is_capped,
    a_burst_of_one_right_code_logs_in_once_and_counts_no_wrong_code,
    a_locked_code_step_mails_one_unlock_link_per_ten_minutes,
    wrong_passwords_at_once_are_checked_ten_times,
    wrong_passwords_at_once_across_two_instances_are_checked_ten_times,
    revocation_codes_at_once_are_checked_five_times,
);

/// Ügyfélkapu+ on for `username`, logged out; returns the key.
async fn citizen_with_two_step(app: &TestApp, username: &str) -> String {
    app.register_confirmed(username, "Szücs Imre", &format!("{username}@example.hu"), PASSWORD).await;
    assert_eq!(app.login(username, PASSWORD).await.location.as_deref(), Some("/"));
    let (key, _) = app.enable_two_step(PASSWORD).await;
    let home = app.get("/").await;
    app.post("/logout", &[("csrf", &home.csrf())]).await;
    key
}

/// A browser that gave the right password and now waits at the code step:
/// its cookies and the code form's CSRF token.
async fn at_the_code_step(app: &TestApp, username: &str) -> (reqwest::Client, Arc<Jar>, String) {
    let (browser, jar) = app.browser_with_jar();
    let first = app.login_with(&browser, username, PASSWORD).await;
    assert_eq!(first.location.as_deref(), Some("/login/code"), "{}", first.body);
    let csrf = app.get_with(&browser, "/login/code").await.csrf();
    (browser, jar, csrf)
}

/// `n` six-digit codes that are right at no step of the window.
fn wrong_codes(app: &TestApp, key: &str, n: usize) -> Vec<String> {
    let valid: Vec<String> = (-1..=1).map(|s| app.code_for(key, s * 30)).collect();
    (0..).map(|i| format!("{:06}", 100_000 + i)).filter(|c| !valid.contains(c)).take(n).collect()
}

fn code_requests(bases: &[&str], jar: &Arc<Jar>, csrf: &str, codes: &[String]) -> Vec<RawRequest> {
    codes
        .iter()
        .enumerate()
        .map(|(i, code)| {
            RawRequest::form(bases[i % bases.len()], "/login/code", jar, &[("csrf", csrf), ("code", code)])
        })
        .collect()
}

async fn account_id(app: &TestApp, username: &str) -> kapu::accounts::model::AccountId {
    app.kapu.store.account_by_username(&Username::parse(username).unwrap()).await.unwrap().unwrap().id
}

async fn events(app: &TestApp, username: &str, event: &str) -> usize {
    app.kapu.admin_audit(username, 10_000).await.unwrap().into_iter().filter(|e| e.event == event).count()
}

/// No answer was an error page: every request got a real answer.
fn all_answered(responses: &[RawResponse], allowed: &[u16]) {
    for r in responses {
        assert!(allowed.contains(&r.status), "unexpected answer {}:\n{}\n{}", r.status, r.head, r.body);
    }
}

/// With the slow-down starting only at the lock (20), a burst of 300 wrong
/// codes on one half-finished login: exactly 20 are checked.
async fn wrong_codes_at_once_are_checked_twenty_times_then_locked(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.two_step.code_slowdown_after = 20).await;
    let key = citizen_with_two_step(&app, "tamadott").await;
    let (_, jar, csrf) = at_the_code_step(&app, "tamadott").await;
    let responses = burst(&code_requests(&[&app.url], &jar, &csrf, &wrong_codes(&app, &key, 300))).await;
    all_answered(&responses, &[401, 429]);
    // 19 "wrong code"; the 20th is wrong and locks; 280 were never checked.
    assert_eq!(statuses(&responses), vec![(401, 19), (429, 281)]);
    assert_eq!(events(&app, "tamadott", "code_failed").await, 20);
    let credential = app.kapu.store.credential(&account_id(&app, "tamadott").await).await.unwrap().unwrap();
    assert_eq!(credential.failed_codes, 20);
    assert!(credential.code_locked, "the lock set during the burst is still set after it");
    assert_eq!(app.mails_with_subject("zárolva", 1).await.len(), 1);

    // Locked: even the right code is not checked, hours later.
    app.clock.advance(4 * 3600);
    let (browser, _, csrf) = at_the_code_step(&app, "tamadott").await;
    let right = app.post_with(&browser, "/login/code", &[("csrf", &csrf), ("code", &app.code_for(&key, 0))]).await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
    // The office lifts the code lock.
    let lifted = app.kapu.admin_unlock("tamadott", "ID card checked at the office").await.unwrap();
    assert!(lifted.codes);
    let right = app.post_with(&browser, "/login/code", &[("csrf", &csrf), ("code", &app.code_for(&key, 0))]).await;
    assert_eq!(right.location.as_deref(), Some("/"), "{}", right.body);
    let unlock = app.kapu.admin_audit("tamadott", 10).await.unwrap().into_iter().find(|e| e.event == "unlocked");
    assert!(unlock.unwrap().detail.unwrap().contains("ID card checked at the office"));
    app.stop().await;
}

async fn wrong_codes_at_once_across_two_instances_are_checked_twenty_times(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.two_step.code_slowdown_after = 20).await;
    let second = app.second_instance().await;
    let key = citizen_with_two_step(&app, "ketfele").await;
    let (_, jar, csrf) = at_the_code_step(&app, "ketfele").await;
    let requests = code_requests(&[&app.url, &second.url], &jar, &csrf, &wrong_codes(&app, &key, 300));
    let responses = burst(&requests).await;
    all_answered(&responses, &[401, 429]);
    assert_eq!(statuses(&responses), vec![(401, 19), (429, 281)]);
    assert_eq!(events(&app, "ketfele", "code_failed").await, 20);
    let credential = app.kapu.store.credential(&account_id(&app, "ketfele").await).await.unwrap().unwrap();
    assert!(credential.code_locked && credential.failed_codes == 20);
    second.stop().await;
    app.stop().await;
}

/// The default limits: a wait from the 5th wrong code, doubling from a
/// minute, never longer than 15 minutes, the lock at 20. Bursts at every
/// moment the code step opens again get exactly one code checked each.
async fn with_the_default_limits_a_burst_checks_five_and_every_wait_is_capped(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.two_step.pending_login_seconds = 30 * 24 * 3600).await;
    let second = app.second_instance().await;
    let key = citizen_with_two_step(&app, "turelmes").await;
    let (_, jar, csrf) = at_the_code_step(&app, "turelmes").await;
    let id = account_id(&app, "turelmes").await;
    let responses = burst(&code_requests(&[&app.url, &second.url], &jar, &csrf, &wrong_codes(&app, &key, 100))).await;
    all_answered(&responses, &[401, 429]);
    // Four "wrong"; the fifth is wrong and starts the wait; the rest wait.
    assert_eq!(statuses(&responses), vec![(401, 4), (429, 96)]);
    let mut checked = 5;
    let mut waits = Vec::new();
    loop {
        let credential = app.kapu.store.credential(&id).await.unwrap().unwrap();
        assert_eq!(credential.failed_codes, checked);
        if credential.code_locked {
            break;
        }
        let wait = credential.code_blocked_until - app.clock.now();
        waits.push(wait);
        assert!(wait <= 900, "no wait is longer than 15 minutes: {wait}");
        // One second early: still waiting, nothing checked.
        app.clock.advance(wait - 1);
        let early = burst(&code_requests(&[&app.url, &second.url], &jar, &csrf, &wrong_codes(&app, &key, 10))).await;
        assert_eq!(statuses(&early), vec![(429, 10)]);
        app.clock.advance(1);
        let responses =
            burst(&code_requests(&[&app.url, &second.url], &jar, &csrf, &wrong_codes(&app, &key, 30))).await;
        all_answered(&responses, &[429]);
        checked += 1;
    }
    assert_eq!(checked, 20, "at most 20 wrong codes in all");
    assert_eq!(waits, vec![60, 120, 240, 480, 900, 900, 900, 900, 900, 900, 900, 900, 900, 900, 900]);
    assert_eq!(events(&app, "turelmes", "code_failed").await, 20);
    second.stop().await;
    app.stop().await;
}

/// A double click, fifty times over: one login, and the losers' right (but
/// used) code is not a wrong code.
async fn a_burst_of_one_right_code_logs_in_once_and_counts_no_wrong_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let second = app.second_instance().await;
    let key = citizen_with_two_step(&app, "duplakatt").await;
    let (_, jar, csrf) = at_the_code_step(&app, "duplakatt").await;
    let codes = vec![app.code_for(&key, 0); 50];
    let responses = burst(&code_requests(&[&app.url, &second.url], &jar, &csrf, &codes)).await;
    let logged_in = responses.iter().filter(|r| r.status == 303 && r.head.contains("location: /\r")).count();
    let used = responses.iter().filter(|r| r.status == 401 && r.contains("már felhasználta")).count();
    let expired = responses.iter().filter(|r| r.status == 303 && r.head.contains("location: /login")).count();
    assert_eq!(logged_in, 1, "{:?}", statuses(&responses));
    assert_eq!(logged_in + used + expired, 50, "{:?}", statuses(&responses));
    assert_eq!(app.kapu.store.credential(&account_id(&app, "duplakatt").await).await.unwrap().unwrap().failed_codes, 0);
    assert_eq!(events(&app, "duplakatt", "code_failed").await, 0);
    let logins = app.kapu.admin_audit("duplakatt", 100).await.unwrap();
    let two_step_logins = logins.iter().filter(|e| e.event == "login_succeeded" && e.detail.is_some()).count();
    assert_eq!(two_step_logins, 1);
    second.stop().await;
    app.stop().await;
}

/// The lock mails an unlock link; later tries on the locked code step mail a
/// fresh one, at most once per ten minutes however many arrive at once.
async fn a_locked_code_step_mails_one_unlock_link_per_ten_minutes(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.two_step.code_slowdown_after = 20;
        c.two_step.pending_login_seconds = 24 * 3600;
    })
    .await;
    let second = app.second_instance().await;
    let key = citizen_with_two_step(&app, "zarolt").await;
    let (_, jar, csrf) = at_the_code_step(&app, "zarolt").await;
    let bases = [app.url.as_str(), second.url.as_str()];
    burst(&code_requests(&bases, &jar, &csrf, &wrong_codes(&app, &key, 40))).await;
    assert_eq!(app.mails_with_subject("zárolva", 1).await.len(), 1);
    // Right after the lock: tries mail nothing new.
    app.clock.advance(599);
    let tries = burst(&code_requests(&bases, &jar, &csrf, &wrong_codes(&app, &key, 40))).await;
    assert_eq!(statuses(&tries), vec![(429, 40)]);
    app.mail_count().await;
    let unlock_mails = kapu::mail::read_outbox(&app.outbox_dir()).unwrap();
    assert_eq!(unlock_mails.iter().filter(|m| m.subject.contains("zárolva")).count(), 1);
    // Ten minutes on: one burst, one fresh link.
    app.clock.advance(2);
    burst(&code_requests(&bases, &jar, &csrf, &wrong_codes(&app, &key, 40))).await;
    let mails = app.mails_with_subject("zárolva", 2).await;
    assert_eq!(mails.len(), 2);
    // The fresh link works; the first was replaced.
    assert_eq!(app.get(&app.link_in(&mails[0])).await.status, StatusCode::GONE);
    let link = app.link_in(&mails[1]);
    let form = app.get(&link).await;
    let done = app.post(&link, &[("csrf", &form.csrf()), ("code", &app.code_for(&key, 0))]).await;
    assert_eq!(done.location.as_deref(), Some("/login?msg=unlocked"), "{}", done.body);
    second.stop().await;
    app.stop().await;
}

async fn password_burst(app: &TestApp, bases: &[&str], username: &str, n: usize) -> Vec<RawResponse> {
    let (browser, jar) = app.browser_with_jar();
    let csrf = app.get_with(&browser, "/login").await.csrf();
    let passwords: Vec<String> = (0..n).map(|i| format!("nem ez a jelszo {i}")).collect();
    let requests: Vec<RawRequest> = passwords
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let fields = [("csrf", csrf.as_str()), ("username", username), ("password", p.as_str())];
            RawRequest::form(bases[i % bases.len()], "/login", &jar, &fields)
        })
        .collect();
    burst(&requests).await
}

/// With the slow-down starting only at the lock (10), 120 wrong passwords
/// for one name at once: exactly 10 are checked.
async fn wrong_passwords_at_once_are_checked_ten_times(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.login_limits.account_slowdown_after = 10).await;
    app.register_confirmed("celpont", "Cél Pont", "celpont@example.hu", PASSWORD).await;
    let responses = password_burst(&app, &[&app.url], "celpont", 120).await;
    all_answered(&responses, &[401, 429]);
    assert_eq!(statuses(&responses), vec![(401, 9), (429, 111)]);
    assert_eq!(events(&app, "celpont", "login_failed").await, 10);
    // Locked: the right password is not checked either.
    assert_eq!(app.login("celpont", PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(events(&app, "celpont", "login_failed").await, 10);
    app.stop().await;
}

async fn wrong_passwords_at_once_across_two_instances_are_checked_ten_times(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.login_limits.account_slowdown_after = 10).await;
    let second = app.second_instance().await;
    app.register_confirmed("ketszer", "Két Szer", "ketszer@example.hu", PASSWORD).await;
    let responses = password_burst(&app, &[&app.url, &second.url], "ketszer", 120).await;
    all_answered(&responses, &[401, 429]);
    assert_eq!(statuses(&responses), vec![(401, 9), (429, 111)]);
    assert_eq!(events(&app, "ketszer", "login_failed").await, 10);
    // A name that does not exist is limited exactly alike.
    let responses = password_burst(&app, &[&app.url, &second.url], "nincs-ilyen", 120).await;
    assert_eq!(statuses(&responses), vec![(401, 9), (429, 111)]);
    second.stop().await;
    app.stop().await;
}

/// "Elveszett a telefonom" with the right password and 40 wrong revocation
/// codes at once: exactly 5 codes are checked (the password's own limit is
/// set high here, so that the revocation limit is the one that holds). A
/// burst of 40 that cannot be codes (too short) before it uses none of the 5.
async fn revocation_codes_at_once_are_checked_five_times(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.login_limits.account_slowdown_after = 50;
        c.login_limits.account_lockout_after = 60;
    })
    .await;
    let second = app.second_instance().await;
    citizen_with_two_step(&app, "elvesztette").await;
    let (browser, jar) = app.browser_with_jar();
    let csrf = app.get_with(&browser, "/login/lost").await.csrf();
    let form = |code: &str, i: usize| {
        let fields =
            [("csrf", csrf.as_str()), ("username", "elvesztette"), ("password", PASSWORD), ("revocation_code", code)];
        RawRequest::form([&app.url, &second.url][i % 2], "/login/lost", &jar, &fields)
    };
    let malformed: Vec<RawRequest> = (0..40).map(|i| form(&format!("1111 2222 {i:03}"), i)).collect();
    let responses = burst(&malformed).await;
    assert_eq!(statuses(&responses), vec![(422, 40)]);
    assert!(responses.iter().all(|r| r.contains("16 számjegyből áll")), "each is told the code's format");
    let tries = app.kapu.admin_audit("elvesztette", 100).await.unwrap();
    assert_eq!(tries.iter().filter(|e| e.event == "two_step_revoked").count(), 0, "no try used");

    let codes: Vec<String> = (0..40).map(|i| format!("1111 2222 3333 {:04}", i)).collect();
    let requests: Vec<RawRequest> = codes.iter().enumerate().map(|(i, code)| form(code, i)).collect();
    let responses = burst(&requests).await;
    all_answered(&responses, &[422, 429]);
    assert_eq!(statuses(&responses), vec![(422, 5), (429, 35)]);
    let failures = app.kapu.admin_audit("elvesztette", 100).await.unwrap();
    let checked = failures.iter().filter(|e| e.event == "two_step_revoked" && e.outcome == "failure").count();
    assert_eq!(checked, 5);
    second.stop().await;
    app.stop().await;
}
