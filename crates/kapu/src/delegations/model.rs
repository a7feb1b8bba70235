//! A delegation and the state it is in on a given day.

use jiff::civil::Date;

use crate::accounts::model::AccountId;
use crate::clock::UnixTime;

/// Who ended a delegation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndedBy {
    Principal,
    /// The agent ended it, or refused it while it was pending.
    Agent,
}

impl EndedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            EndedBy::Principal => "principal",
            EndedBy::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [EndedBy::Principal, EndedBy::Agent].into_iter().find(|e| e.as_str() == s)
    }
}

/// Where a delegation stands on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for the agent to accept.
    Pending,
    /// Accepted; its first day is still ahead.
    Scheduled,
    /// Accepted and within its dates: the agent may act.
    Active,
    /// Its last day has passed.
    Expired,
    /// Ended (or refused) by a party.
    Ended(EndedBy),
}

/// A delegation with both parties' verified names.
#[derive(Debug, Clone)]
pub struct Delegation {
    pub id: String,
    pub principal_id: AccountId,
    pub agent_id: AccountId,
    /// "Family Given" as verified at the office.
    pub principal_name: String,
    pub agent_name: String,
    pub matter: String,
    /// `None`: at any service.
    pub client_id: Option<String>,
    pub service_name: Option<String>,
    /// Both days included.
    pub valid_from: Date,
    pub valid_until: Date,
    pub created_at: UnixTime,
    /// The clerk and office that recorded it, if made in person.
    pub recorded_by: Option<String>,
    pub accepted_at: Option<UnixTime>,
    pub ended_at: Option<UnixTime>,
    pub ended_by: Option<EndedBy>,
}

impl Delegation {
    pub fn state(&self, today: Date) -> State {
        if let Some(by) = self.ended_by {
            return State::Ended(by);
        }
        if today > self.valid_until {
            return State::Expired;
        }
        match self.accepted_at {
            None => State::Pending,
            Some(_) if today < self.valid_from => State::Scheduled,
            Some(_) => State::Active,
        }
    }

    /// Whether `account` is its principal (else its agent).
    pub fn is_principal(&self, account: &AccountId) -> bool {
        &self.principal_id == account
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn delegation() -> Delegation {
        Delegation {
            id: "d".into(),
            principal_id: AccountId("p".into()),
            agent_id: AccountId("a".into()),
            principal_name: "Kovács Anna".into(),
            agent_name: "Kiss Béla".into(),
            matter: "adobevallas".into(),
            client_id: None,
            service_name: None,
            valid_from: jiff::civil::date(2026, 12, 10),
            valid_until: jiff::civil::date(2026, 12, 31),
            created_at: 0,
            recorded_by: None,
            accepted_at: None,
            ended_at: None,
            ended_by: None,
        }
    }

    #[test]
    fn the_state_follows_acceptance_dates_and_ending() {
        let mut d = delegation();
        assert_eq!(d.state(jiff::civil::date(2026, 12, 1)), State::Pending);
        assert_eq!(d.state(jiff::civil::date(2027, 1, 1)), State::Expired, "never accepted, then over");
        d.accepted_at = Some(1);
        assert_eq!(d.state(jiff::civil::date(2026, 12, 9)), State::Scheduled);
        assert_eq!(d.state(jiff::civil::date(2026, 12, 10)), State::Active, "the first day counts");
        assert_eq!(d.state(jiff::civil::date(2026, 12, 31)), State::Active, "the last day counts");
        assert_eq!(d.state(jiff::civil::date(2027, 1, 1)), State::Expired);
        d.ended_by = Some(EndedBy::Agent);
        assert_eq!(d.state(jiff::civil::date(2026, 12, 20)), State::Ended(EndedBy::Agent));
        assert_eq!(EndedBy::parse("principal"), Some(EndedBy::Principal));
        assert_eq!(EndedBy::parse("x"), None);
    }
}
