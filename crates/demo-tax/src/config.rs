//! Command line and environment (`KAPU_TAX_*`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// Bevallás: a demo tax-return service that logs its users in through kapu.
///
/// Register it with kapu first (the redirect URI is <public-url>/callback,
/// the post-logout URI <public-url>/):
///
///   kapu admin client add --name Bevallás --redirect-uri http://127.0.0.1:8090/callback \
///       --post-logout-uri http://127.0.0.1:8090/ --delegation-matters adobevallas --json
#[derive(Debug, Parser)]
#[command(name = "kapu-demo-tax", version, verbatim_doc_comment)]
pub struct Args {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, env = "KAPU_TAX_LISTEN", default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,

    /// kapu's issuer URL (discovery at <issuer>/.well-known/openid-configuration).
    #[arg(long, env = "KAPU_TAX_ISSUER", default_value = "http://127.0.0.1:8080")]
    pub issuer: String,

    /// The client_id kapu gave this service.
    #[arg(long, env = "KAPU_TAX_CLIENT_ID")]
    pub client_id: String,

    /// The client_secret kapu gave this service (prefer the environment variable:
    /// command lines are visible to other users of the machine).
    #[arg(long, env = "KAPU_TAX_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: String,

    /// The URL browsers use to reach this service (default: http://<listen address>).
    #[arg(long, env = "KAPU_TAX_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Where the SQLite database (bevallas.db) is kept.
    #[arg(long, env = "KAPU_TAX_DATA_DIR", default_value = "./kapu-tax-data")]
    pub data_dir: PathBuf,

    /// How long to keep retrying discovery at start-up (kapu may still be starting).
    #[arg(long, env = "KAPU_TAX_DISCOVERY_WAIT_SECONDS", default_value_t = 15)]
    pub discovery_wait_seconds: u64,
}

impl Args {
    /// The public URL without a trailing slash; `bound` is the address actually listened on.
    pub fn public_url(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{bound}"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_public_url_defaults_to_the_bound_address() {
        let args = Args::try_parse_from(["kapu-demo-tax", "--client-id", "a", "--client-secret", "b"]).unwrap();
        assert_eq!(args.public_url("127.0.0.1:43210".parse().unwrap()), "http://127.0.0.1:43210");
        let args = Args::try_parse_from([
            "kapu-demo-tax",
            "--client-id",
            "a",
            "--client-secret",
            "b",
            "--public-url",
            "https://bevallas.example.hu/",
        ])
        .unwrap();
        assert_eq!(args.public_url("127.0.0.1:1".parse().unwrap()), "https://bevallas.example.hu");
    }
}
