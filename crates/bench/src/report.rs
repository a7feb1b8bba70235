//! The one table: every figure with kapu's median, the reference measured
//! in the same run, the ratio and the target. A reference that could not
//! be measured (a peer that did not start) is shown as such, never filled in.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::{Value, json};

/// Keycloak's published sizing (not measured here): 15 password logins/s
/// per vCPU.
const KEYCLOAK_LOGINS_PER_VCPU: f64 = 15.0;

/// The CPU a two-step login may spend on everything but Argon2id (five
/// requests: pages, SQL, TOTP, session, audit), so that Argon2id is ≥ 0.95
/// of it at the default cost (≈ 25 ms).
const OTHER_CPU_PER_LOGIN_MS: f64 = 1.3;

/// Write transactions a two-step login may cost on PostgreSQL: the password
/// attempt, the password's success, the code step.
const WRITE_TRANSACTIONS_PER_LOGIN: f64 = 3.0;

#[derive(Serialize, Clone)]
struct Quantity {
    value: Option<f64>,
    unit: String,
    /// Why there is no value, when there is none.
    missing: Option<String>,
}

impl Quantity {
    fn of(value: Option<f64>, unit: &str, missing: &str) -> Self {
        let value = value.filter(|v| v.is_finite());
        Self { value, unit: unit.to_owned(), missing: value.is_none().then(|| missing.to_owned()) }
    }

    fn show(&self) -> String {
        match self.value {
            Some(v) => format!("{} {}", number(v), self.unit),
            None => format!("— ({})", self.missing.as_deref().unwrap_or("not measured")),
        }
    }
}

#[derive(Serialize, Clone, Copy)]
enum Better {
    Higher,
    Lower,
}

#[derive(Serialize)]
struct Row {
    section: String,
    figure: String,
    kapu: Quantity,
    reference_name: String,
    reference: Option<Quantity>,
    /// kapu / reference.
    ratio: Option<f64>,
    /// The ratio the target asks for, and in which direction.
    target: Option<(Better, f64)>,
    met: Option<bool>,
    note: Option<String>,
}

struct Table {
    rows: Vec<Row>,
}

impl Table {
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        section: &str,
        figure: &str,
        kapu: Quantity,
        reference_name: &str,
        reference: Option<Quantity>,
        target: Option<(Better, f64)>,
        note: Option<String>,
    ) {
        let ratio = match (&kapu.value, reference.as_ref().and_then(|r| r.value)) {
            (Some(k), Some(r)) if r > 0.0 => Some(k / r),
            _ => None,
        };
        let met = match (ratio, target) {
            (Some(ratio), Some((Better::Higher, t))) => Some(ratio >= t),
            (Some(ratio), Some((Better::Lower, t))) => Some(ratio <= t),
            _ => None,
        };
        self.rows.push(Row {
            section: section.to_owned(),
            figure: figure.to_owned(),
            kapu,
            reference_name: reference_name.to_owned(),
            reference,
            ratio,
            target,
            met,
            note,
        });
    }

    fn markdown(&self) -> String {
        let mut out = String::new();
        let mut section = "";
        for row in &self.rows {
            if row.section != section {
                section = &row.section;
                let _ = writeln!(out, "\n### {section}\n");
                let _ = writeln!(out, "| figure | kapu (median) | reference, same run | ratio | target | |");
                let _ = writeln!(out, "| --- | ---: | --- | ---: | ---: | --- |");
            }
            let reference = match &row.reference {
                Some(q) => format!("{}: {}", row.reference_name, q.show()),
                None if row.reference_name.is_empty() => "—".to_owned(),
                None => row.reference_name.clone(),
            };
            let ratio = row.ratio.map_or_else(|| "—".to_owned(), |r| format!("{r:.2}"));
            let target = match row.target {
                Some((Better::Higher, t)) => format!("≥ {}", number(t)),
                Some((Better::Lower, t)) => format!("≤ {}", number(t)),
                None => String::new(),
            };
            let verdict = match row.met {
                Some(true) => "met",
                Some(false) => "**missed**",
                None if row.target.is_some() => "not measured",
                None => "",
            };
            let note = row.note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
            let _ = writeln!(
                out,
                "| {}{note} | {} | {reference} | {ratio} | {target} | {verdict} |",
                row.figure,
                row.kapu.show()
            );
        }
        out
    }
}

fn number(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Criterion's medians (ns) by "group/function", from
/// `<criterion>/*/*/new/{benchmark,estimates}.json`.
fn criterion_medians(dir: &Path) -> BTreeMap<String, f64> {
    let mut found = BTreeMap::new();
    let Ok(groups) = std::fs::read_dir(dir) else { return found };
    for group in groups.flatten() {
        let Ok(functions) = std::fs::read_dir(group.path()) else { continue };
        for function in functions.flatten() {
            let new = function.path().join("new");
            let read = |name: &str| -> Option<Value> {
                serde_json::from_str(&std::fs::read_to_string(new.join(name)).ok()?).ok()
            };
            let (Some(benchmark), Some(estimates)) = (read("benchmark.json"), read("estimates.json")) else { continue };
            let id = format!(
                "{}/{}",
                benchmark["group_id"].as_str().unwrap_or_default(),
                benchmark["function_id"].as_str().unwrap_or_default()
            );
            if let Some(median) = estimates["median"]["point_estimate"].as_f64() {
                found.insert(id, median);
            }
        }
    }
    found
}

struct Peer {
    ok: bool,
    error: Option<String>,
    figures: BTreeMap<String, f64>,
    version: String,
}

fn peer(dir: &Path, name: &str) -> Peer {
    let path = dir.join("peers").join(format!("{name}.json"));
    let Some(value) = std::fs::read_to_string(&path).ok().and_then(|t| serde_json::from_str::<Value>(&t).ok()) else {
        return Peer {
            ok: false,
            error: Some(format!("no result at {}", path.display())),
            figures: BTreeMap::new(),
            version: String::new(),
        };
    };
    // Each figure's value by its id, and its server CPU per operation (when
    // the load generator could read it) as `<id>.cpu_ms`.
    let mut figures = BTreeMap::new();
    for f in value["figures"].as_array().into_iter().flatten() {
        let Some(id) = f["id"].as_str() else { continue };
        if let Some(v) = f["value"].as_f64() {
            figures.insert(id.to_owned(), v);
        }
        if let Some(cpu) = f["cpu_ms_per_op"].as_f64() {
            figures.insert(format!("{id}.cpu_ms"), cpu);
        }
    }
    Peer {
        ok: value["ok"].as_bool().unwrap_or(false),
        error: value["error"].as_str().map(str::to_owned),
        figures,
        version: value["version"].as_str().unwrap_or_default().to_owned(),
    }
}

impl Peer {
    fn figure(&self, id: &str, unit: &str) -> Quantity {
        let missing = if self.ok {
            format!("{id} not in its result")
        } else {
            format!("could not run: {}", self.error.as_deref().unwrap_or("unknown"))
        };
        Quantity::of(self.figures.get(id).copied(), unit, &missing)
    }

    fn name(&self, name: &str) -> String {
        if self.version.is_empty() { name.to_owned() } else { format!("{name} {}", self.version) }
    }
}

pub fn write(dir: &Path, criterion: &Path, command: &str) -> Result<()> {
    let server: BTreeMap<String, Value> = match std::fs::read_to_string(dir.join("server.json")) {
        Ok(text) => serde_json::from_str(&text).context("server.json")?,
        Err(_) => BTreeMap::new(),
    };
    let get = |path: &str| -> Option<f64> {
        let mut parts = path.splitn(2, ':');
        let key = parts.next()?;
        let mut value = server.get(key)?;
        if let Some(pointer) = parts.next() {
            value = value.pointer(pointer)?;
        }
        value.as_f64()
    };
    let micro = criterion_medians(criterion);
    let ns = |id: &str, label: &str| {
        Quantity::of(micro.get(id).map(|v| v / 1e3), "µs", &format!("criterion {label} did not run"))
    };
    let privacyidea = peer(dir, "privacyidea");
    let node = peer(dir, "oidc-provider");
    let lemonldap = peer(dir, "lemonldap");

    let mut t = Table { rows: Vec::new() };
    let micro_section = "Micro (criterion, one core)";
    t.add(
        micro_section,
        "Argon2id hash, kapu's pool, m=19456 KiB t=2 p=1 (the login limit)",
        ns("argon2id/kapu_hash", "argon2id"),
        "argon2 crate, memory reused",
        Some(ns("argon2id/argon2_reused_memory", "argon2id")),
        None,
        None,
    );
    t.add(
        micro_section,
        "TOTP verification, window ±1 (no match: all 3 steps)",
        ns("totp/totp_verify_window1", "totp"),
        "3 × bare HMAC-SHA1 of 8 bytes",
        Some(ns("reference/3x hmac_sha1", "totp")),
        Some((Better::Lower, 1.2)),
        None,
    );
    for (alg, primitive) in
        [("es256", "P-256 ECDSA sign alone (ring)"), ("rs256", "RSA-2048 PKCS#1 v1.5 sign alone (ring)")]
    {
        t.add(
            micro_section,
            &format!("ID token signing, {}", alg.to_uppercase()),
            ns(&format!("id_token/{alg}_kapu"), "id_token"),
            primitive,
            Some(ns(&format!("id_token/{alg}_primitive"), "id_token")),
            None,
            None,
        );
    }
    t.add(
        micro_section,
        "Revocation-code check (parse + Argon2id verify in the pool)",
        ns("revocation/kapu_check", "revocation"),
        "argon2 crate verify alone",
        Some(ns("revocation/argon2_verify", "revocation")),
        None,
        None,
    );

    for (label, title) in [
        ("sqlite", "SQLite, one instance"),
        ("postgres", "PostgreSQL, one instance"),
        ("postgres_x2", "PostgreSQL, two instances (requests alternate)"),
    ] {
        let section = format!("Server: {title}, `kapu serve` on one core");
        let missing = server
            .get(&format!("{label}.error"))
            .and_then(Value::as_str)
            .map_or_else(|| "not run".to_owned(), |e| format!("failed: {e}"));
        let rate = |key: &str, pointer: &str| Quantity::of(get(&format!("{label}.{key}:{pointer}")), "/s", &missing);
        let limit = Quantity::of(get(&format!("{label}.argon2_limit:/mean_per_second")), "hashes/s", &missing);
        let logins = rate("two_step_logins", "/per_second");
        t.add(
            &section,
            "Two-step logins (GET /login, POST password, GET+POST code, GET /)",
            logins.clone(),
            "Argon2id limit, same core, same run",
            Some(limit.clone()),
            Some((Better::Higher, 0.9)),
            None,
        );
        let cpu = |group: &str| get(&format!("{label}.two_step_logins_cpu:/ms_per_operation/{group}"));
        // The whole process when measured; else the groups (PostgreSQL
        // deployments have no SQLite threads: a missing group spent nothing).
        let all_cpu = cpu("process").or_else(|| {
            cpu("argon2").map(|a| a + ["sqlite", "tokio", "other"].iter().filter_map(|g| cpu(g)).sum::<f64>())
        });
        t.add(
            &section,
            "  the same by CPU time: Argon2id's CPU per login",
            Quantity::of(cpu("argon2"), "ms", &missing),
            "all of the server's CPU per login",
            Some(Quantity::of(all_cpu, "ms", &missing)),
            Some((Better::Higher, 0.95)),
            Some("other load on the machine moves this less than rates".into()),
        );
        t.add(
            &section,
            "  everything but Argon2id per login (HTTP, pages, SQL, TOTP, sessions, audit)",
            Quantity::of(all_cpu.zip(cpu("argon2")).map(|(all, argon2)| all - argon2), "ms", &missing),
            "target",
            Some(Quantity::of(Some(OTHER_CPU_PER_LOGIN_MS), "ms", "")),
            Some((Better::Lower, 1.0)),
            None,
        );
        if label != "sqlite" {
            t.add(
                &section,
                "  write transactions per login (PostgreSQL: new transaction ids)",
                // To two decimals: a stray transaction elsewhere on the server
                // during the run (a few in thousands) is not kapu's.
                Quantity::of(
                    get(&format!("{label}.pg_per_login:/write_transactions")).map(|v| (v * 100.0).round() / 100.0),
                    "",
                    &missing,
                ),
                "target",
                Some(Quantity::of(Some(WRITE_TRANSACTIONS_PER_LOGIN), "", "")),
                Some((Better::Lower, 1.0)),
                None,
            );
        }
        let at80 =
            |what: &str| Quantity::of(get(&format!("{label}.two_step_logins_at_80:/outcome/{what}")), "ms", &missing);
        let rate80 = get(&format!("{label}.two_step_logins_at_80:/rate")).map_or_else(String::new, number);
        t.add(
            &section,
            &format!("  latency p50 at 80 % of the peak ({rate80}/s)"),
            at80("p50_ms"),
            "",
            None,
            None,
            None,
        );
        t.add(&section, "  latency p99 at 80 % of the peak", at80("p99_ms"), "", None, None, None);
        if label == "sqlite" {
            t.add(
                &section,
                "Two-step logins per core",
                logins.clone(),
                "Keycloak sizing guide (published, not measured): password logins/vCPU",
                Some(Quantity::of(Some(KEYCLOAK_LOGINS_PER_VCPU), "/s", "")),
                Some((Better::Higher, 1.0)),
                None,
            );
        }
        let oidc = rate("oidc_logins", "/per_second");
        t.add(
            &section,
            "Full OIDC logins (authorize → password → code → token, ES256)",
            oidc.clone(),
            "Argon2id limit",
            Some(limit),
            None,
            None,
        );
        let code_step = Quantity::of(get(&format!("{label}.code_step:/outcome/per_second")), "/s", &missing);
        let sso = rate("oidc_sso_flows", "/per_second");
        let exchange = Quantity::of(get(&format!("{label}.token_exchange:/outcome/per_second")), "/s", &missing);
        if label == "sqlite" {
            t.add(
                &section,
                "Full OIDC logins",
                oidc,
                &format!("{}: full code flow, dev login checks no password", node.name("node oidc-provider")),
                Some(node.figure("full_flow_per_s", "/s")),
                Some((Better::Higher, 1.0)),
                Some("kapu hashes a password with Argon2id and checks a TOTP code in each".into()),
            );
            t.add(
                &section,
                "Full OIDC logins",
                rate("oidc_logins", "/per_second"),
                &format!("{}: login + OIDC code flow, no TOTP", lemonldap.name("LemonLDAP::NG")),
                Some(lemonldap.figure("login_oidc_flow_per_s", "/s")),
                None,
                None,
            );
            t.add(
                &section,
                "OIDC flow in a live session (authorize → code → token)",
                sso,
                &format!("{}: full code flow", node.name("node oidc-provider")),
                Some(node.figure("full_flow_per_s", "/s")),
                Some((Better::Higher, 1.0)),
                None,
            );
            t.add(
                &section,
                "Token exchange alone (code → ES256 ID token)",
                exchange,
                &format!("{}: token exchange", node.name("node oidc-provider")),
                Some(node.figure("token_exchange_per_s", "/s")),
                Some((Better::Higher, 1.0)),
                None,
            );
            let exchange_group = |g: &str| get(&format!("{label}.token_exchange_cpu:/ms_per_operation/{g}"));
            let exchange_cpu = exchange_group("process").or_else(|| {
                ["sqlite", "tokio", "other", "argon2"].iter().filter_map(|g| exchange_group(g)).reduce(|a, b| a + b)
            });
            t.add(
                &section,
                "  the same by CPU time: server CPU per exchange",
                Quantity::of(exchange_cpu, "ms", &missing),
                &format!("{}: CPU per exchange", node.name("node oidc-provider")),
                Some(node.figure("token_exchange_per_s.cpu_ms", "ms")),
                Some((Better::Lower, 0.5)),
                Some("kapu stores codes and tokens in SQLite, node keeps them in its memory".into()),
            );
            t.add(
                &section,
                "Code step alone (POST code: TOTP check, replay record, session)",
                code_step,
                &format!("{}: /validate/check", privacyidea.name("privacyIDEA")),
                Some(privacyidea.figure("validate_check_per_s", "/s")),
                Some((Better::Higher, 100.0)),
                None,
            );
        } else {
            t.add(&section, "OIDC flow in a live session (authorize → code → token)", sso, "", None, None, None);
            t.add(&section, "Token exchange alone (code → ES256 ID token)", exchange, "", None, None, None);
            t.add(&section, "Code step alone (POST code)", code_step, "", None, None, None);
        }
    }

    let section = "Memory and start-up (SQLite, one core)";
    let memory_missing = server.get("memory.error").and_then(Value::as_str).unwrap_or("not run").to_owned();
    t.add(
        section,
        "Resident memory, idle after start-up",
        Quantity::of(get("memory.idle:/rss_mib"), "MiB", &memory_missing),
        "target",
        Some(Quantity::of(Some(30.0 / 1.048_576), "MiB", "")),
        Some((Better::Lower, 1.0)),
        Some("30 MB".into()),
    );
    let storm_note = match (get("memory.storm:/ok"), get("memory.storm:/errors"), get("memory.storm:/concurrent")) {
        (Some(ok), Some(errors), Some(n)) => Some(format!("{n:.0} at once: {ok:.0} logged in, {errors:.0} refused")),
        _ => None,
    };
    t.add(
        section,
        "Peak resident memory, login storm",
        Quantity::of(get("memory.storm:/memory/peak_mib"), "MiB", &memory_missing),
        "",
        None,
        None,
        storm_note,
    );
    let startup_missing = server.get("startup.error").and_then(Value::as_str).unwrap_or("not run").to_owned();
    let empty = Quantity::of(get("startup.empty_sqlite:/median_ms"), "ms", &startup_missing);
    t.add(section, "Start-up, exec → /readyz, new empty SQLite", empty.clone(), "", None, None, None);
    let accounts = get("startup.million_sqlite:/accounts").map_or_else(|| "1 M".to_owned(), |a| format!("{a:.0}"));
    t.add(
        section,
        &format!("Start-up, exec → /readyz, {accounts} accounts"),
        Quantity::of(get("startup.million_sqlite:/median_ms"), "ms", &startup_missing),
        "empty database",
        Some(empty),
        None,
        None,
    );

    let machine = server.get("machine").cloned().unwrap_or(Value::Null);
    let markdown = format!(
        "## kapu benchmarks\n\nMachine: {} ({} cores, {} GiB, Linux {}). Command: `{command}`.\n{}",
        machine["cpu"].as_str().unwrap_or("?"),
        machine["online_cores"],
        machine["memory_gib"],
        machine["kernel"].as_str().unwrap_or("?"),
        t.markdown()
    );
    std::fs::write(dir.join("results.md"), &markdown)?;
    let json = json!({ "machine": machine, "command": command, "rows": t.rows, "server": server });
    std::fs::write(dir.join("results.json"), serde_json::to_string_pretty(&json)?)?;
    println!("{markdown}");
    println!("written: {} and {}", dir.join("results.md").display(), dir.join("results.json").display());
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn run(test: &str, server: Value, peers: &[(&str, Value)]) -> (String, Value) {
        let dir = std::env::temp_dir().join(format!("kapu-bench-report-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("peers")).unwrap();
        std::fs::write(dir.join("server.json"), server.to_string()).unwrap();
        for (name, value) in peers {
            std::fs::write(dir.join("peers").join(format!("{name}.json")), value.to_string()).unwrap();
        }
        write(&dir, &dir.join("no-criterion"), "bench/run").unwrap();
        let markdown = std::fs::read_to_string(dir.join("results.md")).unwrap();
        let json: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        (markdown, json)
    }

    fn row<'a>(json: &'a Value, figure: &str, reference: &str) -> &'a Value {
        json["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| {
                r["figure"].as_str().unwrap().starts_with(figure)
                    && r["reference_name"].as_str().unwrap().contains(reference)
            })
            .unwrap_or_else(|| panic!("no row {figure} / {reference}"))
    }

    #[test]
    fn ratios_and_targets_come_from_the_measured_values() {
        let server = json!({
            "sqlite.two_step_logins": { "per_second": 45.0 },
            "sqlite.argon2_limit": { "mean_per_second": 50.0 },
            "sqlite.code_step": { "outcome": { "per_second": 2000.0 } },
        });
        let pi = json!({ "peer": "privacyidea", "version": "3.14", "ok": true, "error": null,
                         "figures": [{ "id": "validate_check_per_s", "value": 10.0 }] });
        let (markdown, json) = run("ratios", server, &[("privacyidea", pi)]);
        let logins = row(&json, "Two-step logins (", "Argon2id");
        assert!((logins["ratio"].as_f64().unwrap() - 0.9).abs() < 1e-9);
        assert_eq!(logins["met"], json!(true));
        let code = row(&json, "Code step alone", "privacyIDEA");
        assert_eq!(code["ratio"].as_f64(), Some(200.0));
        assert_eq!(code["met"], json!(true));
        assert!(markdown.contains("privacyIDEA 3.14"), "{markdown}");
    }

    #[test]
    fn a_peer_that_could_not_run_is_shown_as_such_never_as_a_number() {
        let server = json!({ "sqlite.token_exchange": { "outcome": { "per_second": 900.0 } } });
        let node = json!({ "peer": "oidc-provider", "ok": false, "error": "npm install failed", "figures": [] });
        let (markdown, json) = run("peer-missing", server, &[("oidc-provider", node)]);
        let exchange = row(&json, "Token exchange alone", "oidc-provider");
        assert_eq!(exchange["reference"]["value"], Value::Null);
        assert_eq!(exchange["ratio"], Value::Null);
        assert_eq!(exchange["met"], Value::Null);
        assert!(markdown.contains("could not run: npm install failed"), "{markdown}");
        // privacyIDEA left no result at all: said so too.
        assert!(markdown.contains("no result at"), "{markdown}");
        assert!(markdown.contains("not measured"), "{markdown}");
    }
}
