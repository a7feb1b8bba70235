//! `kapu otp watch`: a full-screen live view of every code with a countdown
//! bar, search, and copy to the clipboard.
//!
//! The state and its key handling ([`WatchState`]) and the drawing
//! ([`WatchState::render`]) are free of terminal I/O so that tests can drive
//! them with ratatui's test backend; [`run`] is the thin loop around them.
//! The terminal is restored on every way out: normal return, error (a guard
//! restores it on drop), panic (ratatui's panic hook), and SIGTERM/SIGHUP
//! (a flag the loop checks).
//!
//! Keys: `/` starts a search (typed text filters by name; Enter keeps the
//! filter, Esc clears it), ↑/↓ (or k/j) select, Enter or `c` copies the
//! selected code (for an HOTP account: makes the next code, saves the
//! vault, and copies it), `q` or Esc quits, as does Ctrl-C.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use otp::Kind;
use ratatui::Frame;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color as Tui, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

use crate::account::{Account, Color, WARN_SECONDS};
use crate::vault::{Vault, VaultError};
use crate::view::clipboard;
use crate::view::lang::Lang;
use crate::view::text::fit;

/// What the loop must do after a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Just redraw.
    Redraw,
    /// Leave the view.
    Quit,
    /// Copy the code of this account (an index into the vault).
    Copy(usize),
}

/// The view's state: search, selection, and the last message.
#[derive(Debug)]
pub struct WatchState {
    lang: Lang,
    /// The clock in the title bar shows this zone's time.
    zone: jiff::tz::TimeZone,
    filter: String,
    searching: bool,
    selected: usize,
    status: Option<String>,
    /// The last HOTP code made in this session, by account index.
    hotp_shown: Option<(usize, String)>,
}

fn tui_color(color: Color) -> Tui {
    match color {
        Color::Red => Tui::Red,
        Color::Orange => Tui::Indexed(208),
        Color::Yellow => Tui::Yellow,
        Color::Green => Tui::Green,
        Color::Blue => Tui::LightBlue,
        Color::Purple => Tui::Magenta,
        Color::Grey => Tui::Gray,
    }
}

/// "123 456", "1234 567", "1234 5678": easier to read and type.
#[must_use]
pub fn grouped(code: &str) -> String {
    let split = code.len().div_ceil(2).max(3).min(code.len());
    let (a, b) = code.split_at(split);
    if b.is_empty() { a.to_owned() } else { format!("{a} {b}") }
}

/// A countdown bar `width` cells wide, full at the start of a period.
#[must_use]
pub fn bar(seconds_left: u64, period: u64, width: usize) -> String {
    let period = period.max(1);
    let filled = usize::try_from(seconds_left.min(period) * width as u64 / period).unwrap_or(width);
    let mut s = "█".repeat(filled);
    s.push_str(&"░".repeat(width - filled));
    s
}

impl Default for WatchState {
    fn default() -> Self {
        Self::new()
    }
}

impl WatchState {
    /// A fresh view: no filter, first account selected, UTC, English.
    #[must_use]
    pub fn new() -> Self {
        Self::with(Lang::En, jiff::tz::TimeZone::UTC)
    }

    /// The language and the time zone of the clock (the system's zone for
    /// the real view).
    #[must_use]
    pub fn with(lang: Lang, zone: jiff::tz::TimeZone) -> Self {
        Self { lang, zone, filter: String::new(), searching: false, selected: 0, status: None, hotp_shown: None }
    }

    /// "14:03:07 CET": `now` in the view's zone.
    #[must_use]
    pub fn clock(&self, now: u64) -> String {
        let time = i64::try_from(now)
            .ok()
            .and_then(|s| jiff::Timestamp::from_second(s).ok())
            .map(|t| t.to_zoned(self.zone.clone()));
        match time {
            Some(z) => format!("{} ", z.strftime("%H:%M:%S %Z")),
            None => String::new(),
        }
    }

    /// The indices of the accounts the filter lets through, in vault order.
    #[must_use]
    pub fn visible(&self, accounts: &[Account]) -> Vec<usize> {
        let needle = self.filter.to_lowercase();
        (0..accounts.len())
            .filter(|&i| needle.is_empty() || accounts[i].label().to_lowercase().contains(&needle))
            .collect()
    }

    /// The current search text.
    #[must_use]
    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// Shows `message` in the bottom line until the next key.
    pub fn set_status(&mut self, message: impl Into<String>) {
        self.status = Some(message.into());
    }

    /// Remembers an HOTP code made for `account`, to show it.
    pub fn show_hotp(&mut self, account: usize, code: String) {
        self.hotp_shown = Some((account, code));
    }

    fn selected_account(&self, accounts: &[Account]) -> Option<usize> {
        self.visible(accounts).get(self.selected).copied()
    }

    fn clamp(&mut self, accounts: &[Account]) {
        let n = self.visible(accounts).len();
        self.selected = self.selected.min(n.saturating_sub(1));
    }

    /// Applies a key press.
    pub fn handle_key(&mut self, key: KeyEvent, accounts: &[Account]) -> Action {
        if key.kind != KeyEventKind::Press {
            return Action::Redraw;
        }
        self.status = None;
        if key.modifiers.contains(KeyModifiers::CONTROL) && matches!(key.code, KeyCode::Char('c' | 'd')) {
            return Action::Quit;
        }
        match key.code {
            KeyCode::Up => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down => self.selected += 1,
            _ if self.searching => match key.code {
                KeyCode::Esc => {
                    self.filter.clear();
                    self.searching = false;
                }
                KeyCode::Enter => self.searching = false,
                KeyCode::Backspace => {
                    self.filter.pop();
                }
                KeyCode::Char(c) if !c.is_control() => {
                    self.filter.push(c);
                    self.selected = 0;
                }
                _ => {}
            },
            KeyCode::Char('q') | KeyCode::Esc => return Action::Quit,
            KeyCode::Char('/') => {
                self.searching = true;
                self.filter.clear();
                self.selected = 0;
            }
            KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Char('j') => self.selected += 1,
            KeyCode::Enter | KeyCode::Char('c' | 'y') => {
                self.clamp(accounts);
                return self.selected_account(accounts).map_or(Action::Redraw, Action::Copy);
            }
            _ => {}
        }
        self.clamp(accounts);
        Action::Redraw
    }

    /// Draws the whole screen for the time `now` (Unix seconds).
    pub fn render(&self, frame: &mut Frame<'_>, accounts: &[Account], now: u64) {
        let [top, body, bottom] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1)]).areas(frame.area());
        let clock = self.clock(now);
        let title = self.lang.watch_title(accounts.len());
        let gap = usize::from(top.width).saturating_sub(title.width() + clock.width());
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(title, Style::new().add_modifier(Modifier::BOLD)),
                Span::raw(" ".repeat(gap)),
                Span::raw(clock),
            ]))
            .style(Style::new().add_modifier(Modifier::REVERSED)),
            top,
        );
        let (lines, selected_line) = self.body_lines(accounts, now, body);
        let scroll = selected_line.saturating_sub(usize::from(body.height).saturating_sub(2));
        frame.render_widget(Paragraph::new(lines).scroll((u16::try_from(scroll).unwrap_or(0), 0)), body);
        let footer = if self.searching {
            Line::from(vec![
                Span::styled("/", Style::new().add_modifier(Modifier::BOLD)),
                Span::raw(crate::escape::terminal_safe(&self.filter).into_owned()),
                Span::styled("▏", Style::new().add_modifier(Modifier::SLOW_BLINK)),
                Span::styled(self.lang.watch_search_keys(), Style::new().fg(Tui::DarkGray)),
            ])
        } else if let Some(status) = &self.status {
            Line::from(Span::styled(format!(" {status}"), Style::new().fg(Tui::Green)))
        } else {
            Line::from(Span::styled(self.lang.watch_keys(&self.filter), Style::new().fg(Tui::DarkGray)))
        };
        frame.render_widget(Paragraph::new(footer), bottom);
    }

    fn body_lines(&self, accounts: &[Account], now: u64, area: Rect) -> (Vec<Line<'static>>, usize) {
        let visible = self.visible(accounts);
        if visible.is_empty() {
            let text = self.lang.watch_none(if accounts.is_empty() { "" } else { &self.filter });
            return (vec![Line::raw(""), Line::raw(text)], 0);
        }
        let width = usize::from(area.width);
        let bar_width = if width >= 90 { 20 } else { 10 };
        // marker 2, gaps 2+2+1, code 9, bar, "30 s" 5
        let fixed = 2 + 2 + 9 + 2 + bar_width + 1 + 5;
        let longest = visible.iter().map(|&i| accounts[i].label().width()).max().unwrap_or(0);
        let name_width = longest.min(width.saturating_sub(fixed + 1)).max(8);
        let mut lines = Vec::with_capacity(visible.len() * 2);
        let mut selected_line = 0;
        for (row, &i) in visible.iter().enumerate() {
            let account = &accounts[i];
            let is_selected = row == self.selected;
            if is_selected {
                selected_line = lines.len();
            }
            let base = if is_selected { Style::new().add_modifier(Modifier::REVERSED) } else { Style::new() };
            let mut name = fit(&account.label(), name_width);
            for _ in name.width()..name_width {
                name.push(' ');
            }
            let mut spans = vec![
                Span::styled(if is_selected { "▶" } else { " " }, base),
                Span::styled("●", base.fg(tui_color(account.color))),
                Span::styled(format!(" {name}  "), base),
            ];
            let mut warning = None;
            match (account.code_at(now), account.kind) {
                (Some(current), _) => {
                    let urgent = current.seconds_left < WARN_SECONDS;
                    let code_style = if urgent { base.fg(Tui::Yellow) } else { base };
                    let bar_style = if urgent { base.fg(Tui::Red) } else { base.fg(Tui::Green) };
                    spans.push(Span::styled(
                        format!("{:<9}", grouped(&current.code)),
                        code_style.add_modifier(Modifier::BOLD),
                    ));
                    spans.push(Span::styled("  ", base));
                    spans.push(Span::styled(bar(current.seconds_left, current.period, bar_width), bar_style));
                    spans.push(Span::styled(format!(" {:>2} s", current.seconds_left), base));
                    if let Some(next) = &current.next_code {
                        warning = Some(self.lang.expiring_short(current.seconds_left, &grouped(next)));
                    }
                }
                (None, Kind::Hotp { counter }) => {
                    let shown = self.hotp_shown.as_ref().filter(|(j, _)| *j == i).map(|(_, c)| grouped(c));
                    spans.push(Span::styled(
                        format!("{:<9}", shown.unwrap_or_else(|| "--- ---".to_owned())),
                        base.add_modifier(Modifier::BOLD),
                    ));
                    spans.push(Span::styled(self.lang.watch_hotp(counter), base));
                }
                (None, Kind::Totp { .. }) => {}
            }
            lines.push(Line::from(spans));
            if let Some(w) = warning {
                lines.push(Line::from(Span::styled(w, Style::new().fg(Tui::Yellow))));
            }
        }
        (lines, selected_line)
    }
}

/// Restores the terminal when dropped (normal return or error).
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ratatui::restore();
        let _ = ratatui::crossterm::execute!(io::stdout(), ratatui::crossterm::cursor::Show);
    }
}

/// Runs the live view on the terminal until the user quits. `now` gives the
/// time (Unix seconds); HOTP codes advance the counter and save the vault.
pub fn run(vault: &mut Vault, now: &dyn Fn() -> u64, lang: Lang) -> io::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    #[cfg(unix)]
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    // try_init installs a panic hook that restores the terminal first.
    let mut terminal = ratatui::try_init()?;
    let _guard = TerminalGuard;
    let mut state = WatchState::with(lang, jiff::tz::TimeZone::system());
    while !stop.load(Ordering::Relaxed) {
        terminal.draw(|frame| state.render(frame, &vault.accounts, now()))?;
        if !event::poll(Duration::from_millis(250))? {
            continue;
        }
        let Event::Key(key) = event::read()? else { continue };
        match state.handle_key(key, &vault.accounts) {
            Action::Redraw => {}
            Action::Quit => break,
            Action::Copy(i) => copy(&mut state, vault, i, now())?,
        }
    }
    Ok(())
}

fn copy(state: &mut WatchState, vault: &mut Vault, i: usize, now: u64) -> io::Result<()> {
    let lang = state.lang;
    let Some(account) = vault.accounts.get(i) else { return Ok(()) };
    let label = account.label();
    let code = match account.code_at(now) {
        Some(current) => current.code,
        None => match next_hotp(vault, i) {
            Ok(Some((index, code))) => {
                state.show_hotp(index, code.clone());
                code
            }
            Ok(None) => {
                state.set_status(lang.counter_exhausted());
                return Ok(());
            }
            Err(e) => {
                state.set_status(lang.not_copied(&lang.vault_error(&e)));
                return Ok(());
            }
        },
    };
    let mut out = io::stdout();
    clipboard::copy(&mut out, &code)?;
    out.flush()?;
    state.set_status(lang.copied(&label));
    Ok(())
}

/// Makes the next code of the HOTP account shown at `i`: under the vault's
/// lock, on the latest version of the file (another `kapu otp` may have
/// used the counter meanwhile), saved before it is shown, so that a code is
/// never shown twice, even after a crash. Returns the account's index then
/// and the code.
fn next_hotp(vault: &mut Vault, i: usize) -> Result<Option<(usize, String)>, VaultError> {
    let Some(wanted) = vault.accounts.get(i).cloned() else { return Ok(None) };
    vault.lock()?;
    let result = (|| {
        let Some(index) = vault.accounts.iter().position(|a| a.same_codes_as(&wanted)) else { return Ok(None) };
        let Some(code) = vault.accounts[index].next_hotp_code() else { return Ok(None) };
        vault.save()?;
        Ok(Some((index, code)))
    })();
    vault.unlock();
    result
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::test_support::totp;

    fn screen(state: &WatchState, accounts: &[Account], now: u64) -> String {
        let mut terminal = Terminal::new(TestBackend::new(100, 12)).unwrap();
        terminal.draw(|f| state.render(f, accounts, now)).unwrap();
        let buffer = terminal.backend().buffer().clone();
        let mut out = String::new();
        for y in 0..buffer.area.height {
            for x in 0..buffer.area.width {
                out.push_str(buffer[(x, y)].symbol());
            }
            out.push('\n');
        }
        out
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn accounts() -> Vec<Account> {
        let mut hotp = totp("bank", "bob", "MFRGGZDFMZTWQ2LK");
        hotp.kind = Kind::Hotp { counter: 3 };
        vec![totp("rfc", "6238", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), totp("kapu", "imre", "JBSWY3DPEHPK3PXP"), hotp]
    }

    #[test]
    fn shows_codes_bars_and_warning() {
        let list = accounts();
        let s = screen(&WatchState::new(), &list, 45);
        assert!(s.contains("rfc:6238"), "{s}");
        assert!(s.contains("287 082"), "grouped code\n{s}");
        assert!(s.contains("██████████░░░░░░░░░░ 15 s"), "half-full bar\n{s}");
        assert!(s.contains("HOTP #3"), "{s}");
        assert!(!s.contains("wait for the next code"));
        let late = screen(&WatchState::new(), &list, 59);
        assert!(late.contains("only 1 s left: wait for the next code"), "{late}");
        assert!(late.contains("00:00:59 UTC"), "{late}");
        let budapest = WatchState::with(Lang::Hu, jiff::tz::TimeZone::get("Europe/Budapest").unwrap());
        let s = screen(&budapest, &list, 1_751_371_200);
        assert!(s.contains("14:00:00 CEST") && s.contains("kapu hitelesítő · 3 fiók"), "local time, Hungarian:\n{s}");
    }

    #[test]
    fn search_filters_and_keys() {
        let list = accounts();
        let mut st = WatchState::new();
        assert_eq!(st.handle_key(key(KeyCode::Char('/')), &list), Action::Redraw);
        for c in "IMRE".chars() {
            st.handle_key(key(KeyCode::Char(c)), &list);
        }
        assert_eq!(st.visible(&list), [1]);
        let s = screen(&st, &list, 45);
        assert!(s.contains("kapu:imre") && !s.contains("rfc:6238"), "{s}");
        assert!(s.contains("/IMRE"));
        // q while searching is text, not quit.
        assert_eq!(st.handle_key(key(KeyCode::Char('q')), &list), Action::Redraw);
        assert!(st.visible(&list).is_empty());
        assert!(screen(&st, &list, 45).contains("No account matches “IMREq”"));
        st.handle_key(key(KeyCode::Backspace), &list);
        st.handle_key(key(KeyCode::Enter), &list);
        assert_eq!(st.filter(), "IMRE");
        assert_eq!(st.handle_key(key(KeyCode::Enter), &list), Action::Copy(1));
        st.handle_key(key(KeyCode::Char('/')), &list);
        st.handle_key(key(KeyCode::Esc), &list);
        assert_eq!(st.visible(&list).len(), 3);
        st.handle_key(key(KeyCode::Down), &list);
        st.handle_key(key(KeyCode::Down), &list);
        st.handle_key(key(KeyCode::Down), &list);
        assert_eq!(st.handle_key(key(KeyCode::Char('c')), &list), Action::Copy(2), "selection stops at the end");
        assert_eq!(st.handle_key(key(KeyCode::Char('q')), &list), Action::Quit);
        assert_eq!(st.handle_key(key(KeyCode::Esc), &list), Action::Quit);
        assert_eq!(st.handle_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL), &list), Action::Quit);
    }

    #[test]
    fn helpers() {
        assert_eq!(grouped("123456"), "123 456");
        assert_eq!(grouped("1234567"), "1234 567");
        assert_eq!(grouped("12345678"), "1234 5678");
        assert_eq!(bar(30, 30, 10), "██████████");
        assert_eq!(bar(1, 30, 10), "░░░░░░░░░░");
        assert_eq!(bar(15, 30, 4), "██░░");
        assert!(screen(&WatchState::new(), &[], 0).contains("No accounts yet"));
    }
}
