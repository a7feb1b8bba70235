//! Prometheus metrics (`/metrics`): requests, logins by outcome, lockouts,
//! password-hash time, the mail queue, rows swept, connections refused.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TableLabels {
    table: &'static str,
}

#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    requests: Family<RequestLabels, Counter>,
    logins: Family<OutcomeLabels, Counter>,
    lockouts: Counter,
    hash_seconds: Histogram,
    mail: Family<OutcomeLabels, Counter>,
    mail_waiting: Gauge,
    swept: Family<TableLabels, Counter>,
    refused: Family<OutcomeLabels, Counter>,
    logouts: Family<OutcomeLabels, Counter>,
    logouts_waiting: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("kapu");
        let requests = Family::<RequestLabels, Counter>::default();
        let logins = Family::<OutcomeLabels, Counter>::default();
        let lockouts = Counter::default();
        // 1 ms .. ~4 s: Argon2id at OWASP parameters takes 15-30 ms per core.
        let hash_seconds = Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(0.001, 2.0, 13));
        registry.register("http_requests", "HTTP requests by route and status", requests.clone());
        registry.register("logins", "Login attempts by outcome", logins.clone());
        registry.register("lockouts", "Usernames locked after repeated failures", lockouts.clone());
        registry.register("password_hash_seconds", "Time of one Argon2id hash", hash_seconds.clone());
        let mail = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "mail",
            "Mail by outcome: sent, retry (a delivery failed, it waits), dropped (given up), suppressed (the recipient's hourly limit)",
            mail.clone(),
        );
        let mail_waiting = Gauge::default();
        registry.register("mail_waiting", "Messages in the mail queue at the last look", mail_waiting.clone());
        let swept = Family::<TableLabels, Counter>::default();
        registry.register("swept_rows", "Expired rows deleted by the sweeper, by table", swept.clone());
        let refused = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "refused",
            "Requests and connections refused to protect the service: connections per address or in all, tries while blocked",
            refused.clone(),
        );
        let logouts = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "backchannel_logouts",
            "Logout tokens POSTed to services: sent, retry (it waits), dropped (given up)",
            logouts.clone(),
        );
        let logouts_waiting = Gauge::default();
        registry.register(
            "backchannel_logouts_waiting",
            "Services not yet told of an ended session, at the last look",
            logouts_waiting.clone(),
        );
        Self {
            logouts,
            logouts_waiting,
            registry: Arc::new(registry),
            requests,
            logins,
            lockouts,
            hash_seconds,
            mail,
            mail_waiting,
            swept,
            refused,
        }
    }

    /// `outcome`: sent, retry, dropped, suppressed.
    pub fn mail(&self, outcome: &'static str) {
        self.mail.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    pub fn mail_waiting(&self, messages: i64) {
        self.mail_waiting.set(messages);
    }

    /// `outcome`: sent, retry, dropped.
    pub fn backchannel_logout(&self, outcome: &'static str) {
        self.logouts.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    pub fn backchannel_logouts_waiting(&self, waiting: i64) {
        self.logouts_waiting.set(waiting);
    }

    pub fn swept(&self, table: &'static str, rows: u64) {
        self.swept.get_or_create(&TableLabels { table }).inc_by(rows);
    }

    /// `outcome`: connections_per_address, connections_total, blocked_tries.
    pub fn refused(&self, outcome: &'static str) {
        self.refused.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    pub fn request(&self, method: &str, route: &str, status: u16) {
        self.requests
            .get_or_create(&RequestLabels { method: method.to_owned(), route: route.to_owned(), status })
            .inc();
    }

    /// `outcome`: success, invalid_credentials, blocked, not_confirmed.
    pub fn login(&self, outcome: &'static str) {
        self.logins.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    pub fn lockout(&self) {
        self.lockouts.inc();
    }

    pub fn hash_seconds(&self) -> Histogram {
        self.hash_seconds.clone()
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_what_was_counted() {
        let m = Metrics::new();
        m.login("success");
        m.lockout();
        m.request("GET", "/login", 200);
        m.hash_seconds().observe(0.02);
        let text = m.render();
        assert!(text.contains("kapu_logins_total{outcome=\"success\"} 1"), "{text}");
        assert!(text.contains("kapu_lockouts_total 1"), "{text}");
        assert!(text.contains("kapu_http_requests_total{method=\"GET\",route=\"/login\",status=\"200\"} 1"), "{text}");
        assert!(text.contains("kapu_password_hash_seconds_count 1"), "{text}");
    }
}
