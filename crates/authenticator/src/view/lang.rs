//! Every text the terminal authenticator shows, in Hungarian and English:
//! one catalogue, one function per message, each with both languages in one
//! `match`, so a missing translation does not compile.
//!
//! The language comes from `--lang`, else `LC_ALL`, `LC_MESSAGES` or `LANG`
//! (`hu...` is Hungarian, anything else English) ([`Lang::detect`]).
//! Details that come from the parsers of other apps' files (why one entry
//! of an Aegis vault cannot be used, say) stay in English inside the
//! translated frame.

use std::fmt::Display;

use crate::escape::Safe;

/// The language of the terminal authenticator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    /// Hungarian.
    Hu,
    /// English, the default outside a Hungarian locale.
    #[default]
    En,
}

impl Lang {
    /// `hu`/`en` (any case, `hu_HU.UTF-8` too) or `None`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let lower = text.trim().to_ascii_lowercase();
        if lower.starts_with("hu") {
            Some(Self::Hu)
        } else if lower.starts_with("en") {
            Some(Self::En)
        } else {
            None
        }
    }

    /// From `--lang` if given, else the first of `LC_ALL`, `LC_MESSAGES`,
    /// `LANG` that is set and not empty: Hungarian for `hu...`, otherwise
    /// English.
    #[must_use]
    pub fn detect(flag: Option<Self>, env: impl Fn(&str) -> Option<String>) -> Self {
        flag.unwrap_or_else(|| {
            ["LC_ALL", "LC_MESSAGES", "LANG"]
                .iter()
                .find_map(|k| env(k).filter(|v| !v.is_empty()))
                .and_then(|v| Self::parse(&v))
                .unwrap_or_default()
        })
    }

    fn pick(self, hu: impl Into<String>, en: impl Into<String>) -> String {
        match self {
            Self::Hu => hu.into(),
            Self::En => en.into(),
        }
    }

    // --- list, code, watch --------------------------------------------------

    /// The vault is empty.
    #[must_use]
    pub fn empty_vault(self) -> String {
        self.pick(
            "A tárolóban még nincs fiók: vegyen fel egyet a `kapu otp add` paranccsal.",
            "The vault has no accounts yet: add one with `kapu otp add`.",
        )
    }
    /// "12 s left".
    #[must_use]
    pub fn seconds_left(self, n: u64) -> String {
        self.pick(format!("még {n:>2} mp"), format!("{n:>2} s left"))
    }
    /// The warning below a code about to expire.
    #[must_use]
    pub fn expiring(self, left: u64, warn: u64, next: &str) -> String {
        self.pick(
            format!("már csak {left} mp (kevesebb, mint {warn}): a kód lejárhat gépelés közben; várja meg a következőt: {next}"),
            format!("only {left} s left (fewer than {warn}): the code may expire while you type it; wait for the next one: {next}"),
        )
    }
    /// The short warning of the live view.
    #[must_use]
    pub fn expiring_short(self, left: u64, next: &str) -> String {
        self.pick(
            format!("   ! már csak {left} mp: várja meg a következő kódot: {next}"),
            format!("   ! only {left} s left: wait for the next code {next}"),
        )
    }
    /// An HOTP account in the list.
    #[must_use]
    pub fn hotp_hint(self, number: usize) -> String {
        self.pick(
            format!("HOTP: a `kapu otp code #{number}` mutatja a következő kódot"),
            format!("HOTP: `kapu otp code #{number}` shows the next code"),
        )
    }
    /// `code` of a TOTP account: "(4 s left of 30)".
    #[must_use]
    pub fn left_of(self, left: u64, period: u64) -> String {
        self.pick(format!("(még {left} mp a {period}-ből)"), format!("({left} s left of {period})"))
    }
    /// `code` of an HOTP account.
    #[must_use]
    pub fn hotp_code(self, label: &str, code: &str, counter: u64) -> String {
        self.pick(
            format!("{}  {code}  (a(z) {counter}. HOTP-kód; a következő a(z) {}. lesz)", Safe(label), counter + 1),
            format!(
                "{}  {code}  (HOTP code number {counter}; the next one will be number {})",
                Safe(label),
                counter + 1
            ),
        )
    }
    /// The live view's title.
    #[must_use]
    pub fn watch_title(self, n: usize) -> String {
        self.pick(format!(" kapu hitelesítő · {n} fiók"), format!(" kapu authenticator · {n} accounts"))
    }
    /// The live view's key help.
    #[must_use]
    pub fn watch_keys(self, filter: &str) -> String {
        let filter = Safe(filter);
        match (self, filter.0.is_empty()) {
            (Self::Hu, true) => " / keresés · ↑↓ kijelölés · Enter másolás · q kilépés".to_owned(),
            (Self::Hu, false) => format!(" szűrő „{filter}” · / keresés · ↑↓ kijelölés · Enter másolás · q kilépés"),
            (Self::En, true) => " / search · ↑↓ select · Enter copy · q quit".to_owned(),
            (Self::En, false) => format!(" filter “{filter}” · / search · ↑↓ select · Enter copy · q quit"),
        }
    }
    /// Help while searching.
    #[must_use]
    pub fn watch_search_keys(self) -> String {
        self.pick("   Enter: megtart · Esc: töröl", "   Enter: keep · Esc: clear")
    }
    /// No account in the view.
    #[must_use]
    pub fn watch_none(self, filter: &str) -> String {
        match (self, filter.is_empty()) {
            (Self::Hu, true) => " Még nincs fiók: vegyen fel egyet a `kapu otp add` paranccsal.".to_owned(),
            (Self::Hu, false) => format!(" Egy fiók sem felel meg ennek: „{}”.", Safe(filter)),
            (Self::En, true) => " No accounts yet: add one with `kapu otp add`.".to_owned(),
            (Self::En, false) => format!(" No account matches “{}”.", Safe(filter)),
        }
    }
    /// An HOTP account in the live view.
    #[must_use]
    pub fn watch_hotp(self, counter: u64) -> String {
        self.pick(
            format!("  HOTP #{counter}: Enter adja a következő kódot"),
            format!("  HOTP #{counter}: Enter makes the next code"),
        )
    }
    /// After a copy.
    #[must_use]
    pub fn copied(self, label: &str) -> String {
        self.pick(
            format!("{}: a kód a terminál vágólapjára küldve (OSC 52)", Safe(label)),
            format!("{}: code sent to the terminal's clipboard (OSC 52)", Safe(label)),
        )
    }
    /// A copy that could not be saved first.
    #[must_use]
    pub fn not_copied(self, why: &dyn Display) -> String {
        self.pick(format!("nincs másolva: {why}"), format!("not copied: {why}"))
    }
    /// An HOTP counter at its end.
    #[must_use]
    pub fn counter_exhausted(self) -> String {
        self.pick("ennek a HOTP-számlálónak nincs tovább", "this HOTP counter cannot go further")
    }

    // --- changes ------------------------------------------------------------

    /// `add` succeeded.
    #[must_use]
    pub fn added(self, number: usize, label: &str, description: &str) -> String {
        self.pick(
            format!("hozzáadva: #{number} {} ({description})", Safe(label)),
            format!("added: #{number} {} ({description})", Safe(label)),
        )
    }
    /// `add` of a key already there.
    #[must_use]
    pub fn duplicate(self, number: usize, label: &str) -> String {
        self.pick(
            format!("ez a kulcs ugyanezekkel a beállításokkal már szerepel a tárolóban (#{number} {}); semmi sem került hozzáadásra", Safe(label)),
            format!("this key is already in the vault with the same settings as #{number} {}; nothing was added", Safe(label)),
        )
    }
    /// `remove` succeeded.
    #[must_use]
    pub fn removed(self, label: &str, bak: &dyn Display) -> String {
        self.pick(
            format!("törölve: {} (a korábbi tároló: {bak})", Safe(label)),
            format!("removed: {} (the vault before this is in {bak})", Safe(label)),
        )
    }
    /// `remove` not confirmed.
    #[must_use]
    pub fn not_removed(self) -> String {
        self.pick("nem töröltem", "not removed")
    }
    /// The `remove` question.
    #[must_use]
    pub fn confirm_remove(self, label: &str) -> String {
        self.pick(
            format!(
                "Törli ezt: {}? A kulcsa (QR-kód vagy mentés) nélkül a kódjai nem állíthatók elő újra. [i/N] ",
                Safe(label)
            ),
            format!(
                "Remove {}? Without its key (QR code or backup) its codes cannot be made again. [y/N] ",
                Safe(label)
            ),
        )
    }
    /// `remove --yes` is needed.
    #[must_use]
    pub fn remove_needs_yes(self, label: &str) -> String {
        self.pick(
            format!("{} kérdés nélküli törléséhez adja meg a --yes kapcsolót", Safe(label)),
            format!("to remove {} without being asked, add --yes", Safe(label)),
        )
    }
    /// `rename` succeeded.
    #[must_use]
    pub fn renamed(self, from: &str, to: &str) -> String {
        self.pick(
            format!("átnevezve: {} → {}", Safe(from), Safe(to)),
            format!("renamed: {} → {}", Safe(from), Safe(to)),
        )
    }
    /// `rename` without a new name.
    #[must_use]
    pub fn rename_needs_name(self) -> String {
        self.pick(
            "adja meg az új nevet: --issuer SZOLGÁLTATÁS és/vagy --account NÉV (--color is megadható)",
            "give the new name: --issuer SERVICE and/or --account NAME (and --color if you like)",
        )
    }
    /// `passwd` succeeded.
    #[must_use]
    pub fn passphrase_changed(self, bak: &dyn Display) -> String {
        self.pick(
            format!("a tároló jelmondata megváltozott; a korábbi változat ({bak}) a régi jelmondattal nyílik: ha nincs rá szükség, törölje"),
            format!("the vault's passphrase is changed; the previous version ({bak}) opens with the old passphrase: delete it if you no longer need it"),
        )
    }

    // --- import -------------------------------------------------------------

    /// One line of a restore ("added: ...").
    #[must_use]
    pub fn outcome(self, outcome: &crate::merge::Outcome) -> String {
        use crate::merge::Outcome;
        match self {
            Self::En => outcome.to_string(),
            Self::Hu => match outcome {
                Outcome::Added { label, same_key_as: None } => format!("hozzáadva: {}", Safe(label)),
                Outcome::Added { label, same_key_as: Some(other) } => format!(
                    "hozzáadva: {} (ugyanaz a kulcs, mint itt: {}, de más beállításokkal, tehát más kódokkal: külön marad)",
                    Safe(label),
                    Safe(other)
                ),
                Outcome::Renamed { from, to } => format!("átnevezve: {} → {}", Safe(from), Safe(to)),
                Outcome::Recolored { label, from, to } => format!("új szín: {} ({from} → {to})", Safe(label)),
                Outcome::Unchanged { label } => format!("változatlan: {}", Safe(label)),
            },
        }
    }
    /// An entry left out.
    #[must_use]
    pub fn skipped(self, skipped: &crate::import::Skipped) -> String {
        self.pick(format!("kihagyva: {skipped}"), format!("skipped: {skipped}"))
    }
    /// A note about the whole file.
    #[must_use]
    pub fn note(self, note: &crate::import::Note) -> String {
        use crate::import::Note;
        match (self, note) {
            (Self::En, n) => format!("note: {n}"),
            (Self::Hu, Note::PartialGoogleBatch { size, present, .. }) => {
                let read = present.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
                let missing: Vec<String> =
                    (1..=*size).filter(|n| !present.contains(n)).map(|n| n.to_string()).collect();
                format!(
                    "megjegyzés: ez egy {size} részes Google Hitelesítő-export {read}. része: a(z) {}. rész fiókjai nincsenek benne; olvassa be azokat a QR-kódokat is",
                    missing.join(", ")
                )
            }
        }
    }
    /// Nothing to import.
    #[must_use]
    pub fn nothing_to_import(self, file: &dyn Display, source: &str) -> String {
        self.pick(
            format!("a(z) {file} ({source}) egyetlen beolvasható fiókot sem tartalmaz; a tároló nem változott"),
            format!("{file} ({source}) has no account that can be imported; the vault was not changed"),
        )
    }
    /// The import summary.
    #[must_use]
    pub fn import_summary(self, file: &dyn Display, source: &str, counts: [usize; 5]) -> String {
        let [added, renamed, recoloured, unchanged, skipped] = counts;
        self.pick(
            format!("beolvasva: {file} ({source}): {added} hozzáadva, {renamed} átnevezve, {recoloured} átszínezve, {unchanged} változatlan, {skipped} kihagyva; semmi sem törlődött"),
            format!("imported from {file} ({source}): {added} added, {renamed} renamed, {recoloured} recoloured, {unchanged} unchanged, {skipped} skipped; nothing deleted"),
        )
    }

    // --- prompts ------------------------------------------------------------

    /// Asking for the service.
    #[must_use]
    pub fn ask_service(self) -> String {
        self.pick("Szolgáltatás (pl. Ügyfélkapu): ", "Service (e.g. Ügyfélkapu): ")
    }
    /// Asking for the account.
    #[must_use]
    pub fn ask_account(self) -> String {
        self.pick("Fiók (pl. a felhasználóneve): ", "Account (e.g. your user name): ")
    }
    /// Both names empty.
    #[must_use]
    pub fn need_a_name(self) -> String {
        self.pick(
            "A szolgáltatás és a fiók közül legalább az egyiket adja meg.",
            "Give at least one of the service and the account.",
        )
    }
    /// Asking for the key.
    #[must_use]
    pub fn ask_key(self) -> String {
        self.pick("Kulcs (base32; gépeléskor nem látszik): ", "Key (base32; not shown as you type): ")
    }
    /// Asking for the colour.
    #[must_use]
    pub fn ask_color(self) -> String {
        self.pick(
            "Szín (red, orange, yellow, green, blue, purple, grey) [blue]: ",
            "Colour (red, orange, yellow, green, blue, purple, grey) [blue]: ",
        )
    }
    /// A wrong answer, asked again.
    #[must_use]
    pub fn try_again(self, why: &dyn Display) -> String {
        self.pick(format!("{why} Próbálja újra."), format!("{why} Try again."))
    }
    /// Asking for the vault's passphrase.
    #[must_use]
    pub fn ask_vault_passphrase(self, path: &dyn Display) -> String {
        self.pick(format!("A tároló ({path}) jelmondata: "), format!("Passphrase of the vault {path}: "))
    }
    /// Wrong passphrase, once more.
    #[must_use]
    pub fn wrong_passphrase_again(self) -> String {
        self.pick("Hibás jelmondat, próbálja újra.", "Wrong passphrase, try again.")
    }
    /// Asking for a new passphrase.
    #[must_use]
    pub fn ask_new_passphrase(self, what: &str, min: usize) -> String {
        self.pick(
            format!("Új jelmondat ehhez: {what} (legalább {min} karakter): "),
            format!("New passphrase for {what} (at least {min} characters): "),
        )
    }
    /// Asking for it again.
    #[must_use]
    pub fn ask_same_again(self) -> String {
        self.pick("Ugyanez a jelmondat még egyszer: ", "The same passphrase again: ")
    }
    /// Asking for a file's password.
    #[must_use]
    pub fn ask_file_password(self, what: &str) -> String {
        self.pick(format!("Jelszó ({what}): "), format!("Password of {what}: "))
    }
    /// A new vault is made.
    #[must_use]
    pub fn creating_vault(self, path: &dyn Display) -> String {
        self.pick(
            format!("Új tároló: {path} (őrizze meg a jelmondatot: nélküle a tároló nem nyitható meg)."),
            format!("Creating the vault {path} (keep the passphrase safe: without it the vault cannot be opened)."),
        )
    }
    /// The QR drawing.
    #[must_use]
    pub fn scan_this(self, label: &str) -> String {
        self.pick(
            format!("Olvassa be a másik eszköz hitelesítő alkalmazásával: {}", Safe(label)),
            format!("Scan this with the authenticator app of the other device: {}", Safe(label)),
        )
    }
    /// Below the QR drawing.
    #[must_use]
    pub fn qr_is_secret(self) -> String {
        self.pick(
            "Ez a QR-kód a titkos kulcsot tartalmazza: senki más ne lássa és ne fényképezze le.",
            "This QR code holds the secret key: do not let anyone else see or photograph it.",
        )
    }
    /// A plain export to a terminal.
    #[must_use]
    pub fn plain_export_warning(self) -> String {
        self.pick(
            "Figyelem: ez a mentés titkosítatlanul tartalmazza a titkos kulcsokat.",
            "Warning: this backup holds your secret keys in plain text.",
        )
    }
    /// An export written to a file.
    #[must_use]
    pub fn exported(self, n: usize, file: &dyn Display, encrypted: bool) -> String {
        match (self, encrypted) {
            (Self::Hu, true) => format!("{n} fiók mentve ide: {file} (titkosítva)"),
            (Self::Hu, false) => format!("{n} fiók mentve ide: {file} (titkosítatlanul, a kulcsok olvashatók)"),
            (Self::En, true) => format!("exported {n} accounts to {file} (encrypted)"),
            (Self::En, false) => format!("exported {n} accounts to {file} (plain, with the secret keys readable)"),
        }
    }

    // --- time ---------------------------------------------------------------

    /// `time`: the server's time.
    #[must_use]
    pub fn server_time(self, date: &str, url: &str) -> String {
        self.pick(format!("szerveridő:   {date} ({})", Safe(url)), format!("server time:  {date} ({})", Safe(url)))
    }
    /// `time`: the offset.
    #[must_use]
    pub fn offset(self, seconds: f64, behind: bool, error: f64, round_trip_ms: u128) -> String {
        match (self, behind) {
            (Self::Hu, true) => format!(
                "eltérés:      ez a gép {seconds:.1} mp-cel késik a szerverhez képest (±{error:.1} mp; oda-vissza {round_trip_ms} ms)"
            ),
            (Self::Hu, false) => format!(
                "eltérés:      ez a gép {seconds:.1} mp-cel siet a szerverhez képest (±{error:.1} mp; oda-vissza {round_trip_ms} ms)"
            ),
            (Self::En, true) => format!(
                "offset:       this computer is {seconds:.1} s behind the server (±{error:.1} s; round trip {round_trip_ms} ms)"
            ),
            (Self::En, false) => format!(
                "offset:       this computer is {seconds:.1} s ahead of the server (±{error:.1} s; round trip {round_trip_ms} ms)"
            ),
        }
    }
    /// `time`: fine.
    #[must_use]
    pub fn clock_ok(self, within: f64) -> String {
        self.pick(
            format!("rendben: az óra {within} mp-en belül pontos, az itt készült kódokat elfogadják"),
            format!("ok: the clock is right to within {within} s, codes made here are accepted"),
        )
    }
    /// `time`: a little off.
    #[must_use]
    pub fn clock_warn(self, off: f64) -> String {
        self.pick(
            format!("figyelem: az óra {off:.0} mp-et téved: a 30 másodperc vége felé beírt kódot elutasíthatják; állítsa be az órát (automatikus idő / NTP)"),
            format!("warning: the clock is {off:.0} s off: a code typed late in its 30 s may be refused; set the clock right (turn on automatic time / NTP)"),
        )
    }
    /// `time`: too far off.
    #[must_use]
    pub fn clock_fail(self, off: f64, limit: f64) -> String {
        self.pick(
            format!("hiba: az óra {off:.0} mp-et téved (több, mint {limit} mp): az itt készült kódokat elutasítják; állítsa be az órát (automatikus idő / NTP)"),
            format!("error: the clock is {off:.0} s off (more than {limit} s): codes made here will be refused; set the clock right (turn on automatic time / NTP)"),
        )
    }

    // --- errors -------------------------------------------------------------

    /// The prefix of every error line.
    #[must_use]
    pub fn error_prefix(self) -> &'static str {
        match self {
            Self::Hu => "kapu otp: hiba: ",
            Self::En => "kapu otp: ",
        }
    }
    /// A vault error, in the user's language.
    #[must_use]
    pub fn vault_error(self, e: &crate::vault::VaultError) -> String {
        use crate::vault::VaultError as V;
        if self == Self::En {
            return e.to_string();
        }
        match e {
            V::NotFound(p) => {
                format!("még nincs tároló itt: {}: a `kapu otp add` paranccsal hozhatja létre", p.display())
            }
            V::AlreadyExists(p) => format!("már van tároló itt: {}", p.display()),
            V::WrongPassphrase(p) => format!("hibás jelmondat a tárolóhoz: {}", p.display()),
            V::Truncated(p) => {
                format!("a tároló ({}) hiányos (csonka); a korábbi változat: {}.bak", p.display(), p.display())
            }
            V::NotAVault(p) => format!(
                "{} nem kapu hitelesítő tároló: sérült vagy más fájl; a korábbi változat: {}.bak",
                p.display(),
                p.display()
            ),
            V::Damaged(p) => format!(
                "a tároló ({}) sérült: a jelmondat helyes, de a tartalma nem hiteles; a korábbi változat: {}.bak",
                p.display(),
                p.display()
            ),
            V::ChangedOnDisk(p) => format!(
                "a tárolót ({}) közben egy másik kapu otp módosította; semmi sem mentődött: futtassa újra a parancsot",
                p.display()
            ),
            V::Busy { path, waited } => format!(
                "a tárolót ({}) éppen egy másik kapu otp módosítja ({} mp-ig vártam rá); semmi sem mentődött: futtassa újra a parancsot",
                path.display(),
                format!("{:.1}", waited.as_secs_f64()).replace('.', ",")
            ),
            other => format!("{other}"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn detection() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
        };
        assert_eq!(Lang::detect(None, env(&[("LANG", "hu_HU.UTF-8")])), Lang::Hu);
        assert_eq!(Lang::detect(None, env(&[("LANG", "hu_HU.UTF-8"), ("LC_ALL", "C")])), Lang::En);
        assert_eq!(Lang::detect(None, env(&[("LC_ALL", ""), ("LANG", "hu")])), Lang::Hu);
        assert_eq!(Lang::detect(Some(Lang::En), env(&[("LANG", "hu_HU.UTF-8")])), Lang::En);
        assert_eq!(Lang::detect(None, env(&[])), Lang::En);
        assert_eq!(Lang::parse("HU"), Some(Lang::Hu));
        assert_eq!(Lang::parse("de"), None);
    }

    #[test]
    fn both_languages_differ_and_names_are_escaped() {
        let (hu, en) = (Lang::Hu.added(1, "x\u{1b}]0;t\u{7}", "TOTP"), Lang::En.added(1, "x\u{1b}]0;t\u{7}", "TOTP"));
        assert_ne!(hu, en);
        assert!(hu.starts_with("hozzáadva: #1 x\\u{1b}]0;t\\u{7}"), "{hu}");
        assert!(!en.chars().any(crate::escape::is_unsafe));
    }
}
