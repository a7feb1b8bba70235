//! Restoring a backup into the vault, by the same rule as the browser page:
//!
//! * accounts are matched by **what makes their codes**: the key (the secret
//!   bytes, compared in constant time), type, algorithm, digits and period,
//!   never by their name, because names are what users change. An entry with
//!   a vault account's key but other settings makes other codes: it is kept
//!   apart (added, and reported as such), never folded into that account;
//! * each vault account matches at most one entry of the backup, so entries
//!   that share a key (a Google export with one key in six accounts) stay as
//!   many accounts; among vault accounts that share it, one with the same
//!   name is matched first;
//! * a matched account takes the backup's name (issuer and account) and
//!   colour: the backup is what the user chose to restore;
//! * an account missing from the vault is added, at the end;
//! * **nothing is deleted**: an account only in the vault stays.
//!
//! For a matched HOTP account the larger counter is kept: going back would
//! show codes the server has already used, going forward is harmless.

use otp::Kind;

use crate::account::{Account, Color};
use crate::escape::Safe;

/// What happened to one account of the backup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It was not in the vault and was added.
    Added {
        /// Its label.
        label: String,
        /// The vault account with the same key but other settings, if any
        /// ("kapu:imre (TOTP, SHA1, 6 digits, 30 s)").
        same_key_as: Option<String>,
    },
    /// Its key was in the vault under another name, which it replaced.
    Renamed {
        /// The name in the vault before.
        from: String,
        /// The backup's name, now in the vault.
        to: String,
    },
    /// Its key was in the vault under the same name, with another colour.
    Recolored {
        /// Its label.
        label: String,
        /// The colour before.
        from: Color,
        /// The backup's colour, now in the vault.
        to: Color,
    },
    /// Its key was in the vault under the same name and colour.
    Unchanged {
        /// Its label.
        label: String,
    },
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Added { label, same_key_as: None } => write!(f, "added: {}", Safe(label)),
            Self::Added { label, same_key_as: Some(other) } => write!(
                f,
                "added: {} (the same key as {}, but other settings, so other codes: kept apart)",
                Safe(label),
                Safe(other)
            ),
            Self::Renamed { from, to } => write!(f, "renamed: {} → {}", Safe(from), Safe(to)),
            Self::Recolored { label, from, to } => write!(f, "recoloured: {} ({from} → {to})", Safe(label)),
            Self::Unchanged { label } => write!(f, "unchanged: {}", Safe(label)),
        }
    }
}

/// Merges `incoming` into `vault` (see the module documentation) and says
/// what it did, one outcome per incoming account, in order.
pub fn merge(vault: &mut Vec<Account>, incoming: Vec<Account>) -> Vec<Outcome> {
    let before = vault.len();
    let mut taken = vec![false; before];
    let mut outcomes = Vec::with_capacity(incoming.len());
    for new in incoming {
        // Secret's equality is constant-time; the search stops at the first
        // match, which reveals only which account matched (not the secret).
        // Among accounts that share the key (a Google export may hold one
        // key under several names), the one with the same name first.
        let free = |i: &usize| !taken[*i] && vault[*i].same_codes_as(&new);
        let matched = (0..before)
            .filter(free)
            .find(|&i| vault[i].issuer == new.issuer && vault[i].account == new.account)
            .or_else(|| (0..before).find(free));
        let Some(i) = matched else {
            let same_key_as = vault[..before]
                .iter()
                .find(|old| old.secret == new.secret)
                .map(|old| format!("{} ({})", old.label(), old.describe()));
            // With a twin in the vault, the settings are what tells them apart.
            let label =
                if same_key_as.is_some() { format!("{} ({})", new.label(), new.describe()) } else { new.label() };
            outcomes.push(Outcome::Added { label, same_key_as });
            vault.push(new);
            continue;
        };
        taken[i] = true;
        let old = &mut vault[i];
        if let (Kind::Hotp { counter: mine }, Kind::Hotp { counter: theirs }) = (old.kind, new.kind) {
            old.kind = Kind::Hotp { counter: mine.max(theirs) };
        }
        let old_color = old.color;
        old.color = new.color;
        if old.issuer == new.issuer && old.account == new.account {
            outcomes.push(if old_color == new.color {
                Outcome::Unchanged { label: old.label() }
            } else {
                Outcome::Recolored { label: old.label(), from: old_color, to: new.color }
            });
        } else {
            let from = old.label();
            old.issuer = new.issuer;
            old.account = new.account;
            outcomes.push(Outcome::Renamed { from, to: old.label() });
        }
    }
    outcomes
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::test_support::totp;

    #[test]
    fn rename_by_key_add_missing_delete_nothing() {
        let mut vault = vec![
            totp("old name", "imre", "JBSWY3DPEHPK3PXP"),
            totp("only", "in vault", "GEZDGNBVGY3TQOJQ"),
            totp("same", "name", "MFRGGZDFMZTWQ2LK"),
        ];
        vault[0].color = Color::Red;
        let backup = vec![
            totp("kapu", "imre", "JBSWY3DPEHPK3PXP"),
            totp("same", "name", "MFRGGZDFMZTWQ2LK"),
            totp("kapu", "imre", "ORSXG5BAMFRGGZDF"),
        ];
        let outcomes = merge(&mut vault, backup);
        assert_eq!(
            outcomes.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["renamed: old name:imre → kapu:imre", "unchanged: same:name", "added: kapu:imre"]
        );
        assert_eq!(vault.len(), 4, "nothing deleted");
        assert_eq!(vault[0].label(), "kapu:imre");
        assert_eq!(vault[0].color, Color::Blue, "the backup's colour, as the browser page does");
        assert_eq!(vault[1].label(), "only:in vault");
        assert_eq!(vault[3].secret.to_base32().as_str(), "ORSXG5BAMFRGGZDF");
        let mut green = totp("same", "name", "MFRGGZDFMZTWQ2LK");
        green.color = Color::Green;
        assert_eq!(merge(&mut vault, vec![green])[0].to_string(), "recoloured: same:name (blue → green)");
        // Same name, different key: a different account, added.
        let again = merge(&mut vault, vec![totp("only", "in vault", "NBSWY3DP")]);
        assert_eq!(again, [Outcome::Added { label: "only:in vault".into(), same_key_as: None }]);
    }

    #[test]
    fn same_key_other_settings_is_kept_apart_and_shared_keys_stay_many() {
        let mut vault = vec![totp("kapu", "imre", "JBSWY3DPEHPK3PXP")];
        let mut other = totp("kapu", "imre", "JBSWY3DPEHPK3PXP");
        other.digits = otp::Digits::EIGHT;
        other.algorithm = otp::Algorithm::Sha256;
        let outcomes = merge(&mut vault, vec![other]);
        assert_eq!(
            outcomes[0].to_string(),
            "added: kapu:imre (TOTP, SHA256, 8 digits, 30 s) (the same key as kapu:imre (TOTP, SHA1, 6 digits, 30 s), \
             but other settings, so other codes: kept apart)"
        );
        assert_eq!(vault.len(), 2);
        assert_eq!(vault[0].digits, otp::Digits::SIX, "the vault's account keeps its settings");
        assert_eq!(vault[1].digits, otp::Digits::EIGHT, "and the backup's makes its own codes");
        let six: Vec<Account> = (0..6).map(|i| totp("Same", &format!("user{i}"), "GEZDGNBVGY3TQOJQ")).collect();
        let mut empty = Vec::new();
        merge(&mut empty, six);
        assert_eq!(empty.len(), 6, "one key in six entries stays six accounts");
    }

    #[test]
    fn hotp_counter_never_goes_back() {
        let mut mine = totp("h", "x", "JBSWY3DPEHPK3PXP");
        mine.kind = Kind::Hotp { counter: 10 };
        let mut older = mine.clone();
        older.kind = Kind::Hotp { counter: 3 };
        let mut vault = vec![mine];
        merge(&mut vault, vec![older.clone()]);
        assert_eq!(vault[0].kind, Kind::Hotp { counter: 10 });
        older.kind = Kind::Hotp { counter: 12 };
        merge(&mut vault, vec![older]);
        assert_eq!(vault[0].kind, Kind::Hotp { counter: 12 });
    }
}
