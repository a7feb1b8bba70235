//! Restoring a backup into the vault, by the same rule as the browser page:
//!
//! * accounts are matched by their **key** (the secret bytes, compared in
//!   constant time), never by their name, because names are what users
//!   change and a key is what makes an account;
//! * a matched account takes the backup's name (issuer and account) and
//!   colour: the backup is what the user chose to restore;
//! * an account missing from the vault is added, at the end;
//! * **nothing is deleted**: an account only in the vault stays.
//!
//! For a matched HOTP account the larger counter is kept: going back would
//! show codes the server has already used, going forward is harmless. The
//! other parameters (algorithm, digits, period) stay as they are in the
//! vault: they belong to the key, and the vault's were working.

use otp::Kind;

use crate::account::{Account, Color};

/// What happened to one account of the backup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It was not in the vault and was added.
    Added {
        /// Its label.
        label: String,
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
            Self::Added { label } => write!(f, "added: {label}"),
            Self::Renamed { from, to } => write!(f, "renamed: {from} → {to}"),
            Self::Recolored { label, from, to } => write!(f, "recoloured: {label} ({from} → {to})"),
            Self::Unchanged { label } => write!(f, "unchanged: {label}"),
        }
    }
}

/// Merges `incoming` into `vault` (see the module documentation) and says
/// what it did, one outcome per incoming account, in order.
pub fn merge(vault: &mut Vec<Account>, incoming: Vec<Account>) -> Vec<Outcome> {
    let mut outcomes = Vec::with_capacity(incoming.len());
    for new in incoming {
        // Secret's equality is constant-time; `find` stops at the first
        // match, which reveals only which account matched (not secret).
        match vault.iter_mut().find(|old| old.secret == new.secret) {
            Some(old) => {
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
            None => {
                outcomes.push(Outcome::Added { label: new.label() });
                vault.push(new);
            }
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
        assert_eq!(again, [Outcome::Added { label: "only:in vault".into() }]);
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
