//! The terminal authenticator: for citizens without a phone app, the codes
//! of their two-step login accounts (kapu's and any other TOTP/HOTP service)
//! in a terminal.
//!
//! * [`account`]: an account, its codes, and finding one by name;
//! * [`vault`]: the accounts in one passphrase-encrypted file, saved
//!   atomically with a `.bak` of the previous version;
//! * [`backup`] and [`envelope`]: our JSON backup format (shared with the
//!   browser page), plain and encrypted;
//! * [`import`]: reading our backups, Aegis vaults, Google Authenticator
//!   exports, otpauth URI lists and QR images; [`merge`]: the restore rule;
//! * [`qr`]: QR codes from images and to the terminal;
//! * [`escape`]: the one function that makes names and file contents safe
//!   to print in a terminal;
//! * [`clock`]: checking this machine's clock against a server;
//! * [`view`]: the text and full-screen views.
//!
//! The one-time-password computation itself is the `otp` crate. The `kapu
//! otp` subcommands (crates/cli) are a thin layer over this crate: they parse
//! arguments, ask for passphrases, and print.

pub mod account;
pub mod atomic;
pub mod backup;
pub mod clock;
pub mod envelope;
pub mod escape;
pub mod import;
pub mod merge;
pub mod qr;
pub mod vault;
pub mod view;

pub use account::{Account, Color, CurrentCode};
pub use vault::{Vault, VaultError};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub(crate) mod test_support {
    use otp::{Algorithm, Digits, Kind, Period, Secret};

    use crate::account::{Account, Color};

    /// A SHA1, 6-digit, 30 s account.
    pub(crate) fn totp(issuer: &str, account: &str, key: &str) -> Account {
        Account::new(
            issuer.to_owned(),
            account.to_owned(),
            Secret::from_base32(key).unwrap(),
            Kind::Totp { period: Period::DEFAULT },
            Algorithm::Sha1,
            Digits::SIX,
            Color::Blue,
        )
        .unwrap()
    }
}
