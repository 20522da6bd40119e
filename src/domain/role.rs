//! Staff roles and what each may do. One table, so permissions read in one place.
use serde::{Deserialize, Serialize};

/// A staff member's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Company-wide administrator: every community, staff management.
    Admin,
    /// Fees, billing, payments and refunds in their communities.
    Finance,
    /// Customer service: units, owners, imports, tickets in their communities.
    Service,
    /// Collections follow-up: reads units and owners, may reveal a phone for a call.
    Collector,
}

/// Things a role may or may not do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    ManageCommunities,
    ManageStaff,
    EditUnitsAndOwners,
    ReadSetup,
    RevealPhone,
    /// Fee items, billing runs, waivers, adjustments and cancellations.
    ManageBilling,
    /// Reminder policies, collection holds, reminder runs.
    ManageCollection,
    /// Calls, visits and printed-notice deliveries: completing staff tasks.
    FollowUp,
    /// Collection-rate reports (money figures by building and fee item; not for customer service).
    ReadReports,
    /// Working the ticket queue: assigning, replying, internal notes, merging, resolving.
    HandleTickets,
    /// The rewards catalog and handing over (or cancelling) what owners redeemed.
    ManageRewards,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "finance" => Some(Role::Finance),
            "service" => Some(Role::Service),
            "collector" => Some(Role::Collector),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Finance => "finance",
            Role::Service => "service",
            Role::Collector => "collector",
        }
    }

    /// Admins see every community; the others only those assigned to them.
    pub fn sees_all_communities(self) -> bool {
        self == Role::Admin
    }

    pub fn may(self, action: Action) -> bool {
        use Action::*;
        match self {
            Role::Admin => true,
            Role::Finance => matches!(action, ReadSetup | ManageBilling | ManageCollection | ReadReports),
            Role::Service => matches!(
                action,
                ReadSetup | EditUnitsAndOwners | RevealPhone | FollowUp | HandleTickets | ManageRewards
            ),
            Role::Collector => matches!(action, ReadSetup | RevealPhone | FollowUp | ReadReports),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_table() {
        assert!(Role::Admin.may(Action::ManageStaff));
        assert!(!Role::Service.may(Action::ManageStaff));
        assert!(!Role::Finance.may(Action::EditUnitsAndOwners));
        assert!(Role::Finance.may(Action::ManageBilling));
        assert!(!Role::Service.may(Action::ManageBilling));
        assert!(Role::Collector.may(Action::ReadReports) && Role::Finance.may(Action::ReadReports));
        assert!(!Role::Service.may(Action::ReadReports));
        assert!(!Role::Collector.may(Action::ManageBilling));
        assert!(Role::Collector.may(Action::RevealPhone));
        assert!(!Role::Collector.may(Action::EditUnitsAndOwners));
        assert!(!Role::Service.may(Action::ManageCommunities));
        assert!(Role::Finance.may(Action::ManageCollection));
        assert!(!Role::Collector.may(Action::ManageCollection));
        assert!(Role::Collector.may(Action::FollowUp));
        assert!(!Role::Finance.may(Action::FollowUp));
        assert!(Role::Service.may(Action::HandleTickets));
        assert!(!Role::Collector.may(Action::HandleTickets) && !Role::Finance.may(Action::HandleTickets));
        assert!(Role::Service.may(Action::ManageRewards));
        assert!(!Role::Finance.may(Action::ManageRewards) && !Role::Collector.may(Action::ManageRewards));
        for r in ["admin", "finance", "service", "collector"] {
            assert_eq!(Role::parse(r).map(Role::as_str), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
