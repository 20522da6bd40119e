//! The states and kinds stored as text columns, typed: a typo is a compile error, and a value the
//! database holds that is not listed here is a read error, not a silent branch. Stored as the same
//! strings as before (no data migration). `wuye::domain::states` is where the rest of the code
//! names them.
use sea_orm::entity::prelude::*;

macro_rules! stored_strings {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, EnumIter, DeriveActiveEnum, serde::Serialize, serde::Deserialize)]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
        pub enum $name {
            $($(#[$vm])* #[sea_orm(string_value = $s)] #[serde(rename = $s)] $variant),+
        }

        impl $name {
            /// The stored (and API) spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $s),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

stored_strings! {
    /// `bills.status`.
    BillStatus {
        /// Something is left to pay (principal or late fee).
        Unpaid = "unpaid",
        /// Nothing is left to pay.
        Paid = "paid",
        /// Withdrawn by staff before anything was paid.
        Cancelled = "cancelled",
        /// Its outstanding principal moved into an installment plan's instalment bills (late fee
        /// frozen on it until the plan ends); an instalment whose payment moved back into the
        /// covered bills when its plan defaulted.
        Rescheduled = "rescheduled",
    }
}

stored_strings! {
    /// `payments.status`.
    PaymentStatus {
        /// Waiting for the gateway (or expired unpaid, until closed).
        Pending = "pending",
        Paid = "paid",
        /// Closed unpaid; a late notification of its payment still credits it.
        Closed = "closed",
        Refunded = "refunded",
        PartiallyRefunded = "partially_refunded",
    }
}

stored_strings! {
    /// `payments.channel`: how the money came.
    Channel {
        Wechat = "wechat",
        Alipay = "alipay",
        /// The demo's sandbox gateway (`serve --demo` only).
        Sandbox = "sandbox",
        Cash = "cash",
        Pos = "pos",
        BankTransfer = "bank_transfer",
        /// Bank collection (银行托收) of an auto-debit mandate, settled by the bank's result file.
        BankDebit = "bank_debit",
    }
}

stored_strings! {
    /// `bill_entries.kind`: what moved a bill's amounts.
    EntryKind {
        Payment = "payment",
        PrepayDiscount = "prepay_discount",
        Refund = "refund",
        LateFeeWaiver = "late_fee_waiver",
        Adjustment = "adjustment",
        Cancel = "cancel",
        /// Principal moved out of the bill into other bills (positive: into a plan's instalments,
        /// or an instalment's back into the covered bills) or back into it (negative: the plan
        /// defaulted); the late fee column holds what was frozen, for the record.
        Reschedule = "reschedule",
        /// What a defaulted plan's instalments paid, credited to a covered bill (its late fee
        /// counts from `effective_on`, the day the instalment was paid).
        InstalmentCredit = "instalment_credit",
        /// The due date moved later (a hardship deferral); no money moves, the reason says from
        /// and to which day.
        Deferral = "deferral",
    }
}

stored_strings! {
    /// `reminders.status`.
    ReminderStatus {
        /// Decided, waiting for its send time.
        Pending = "pending",
        /// Claimed by one replica under a lease.
        Sending = "sending",
        /// A channel accepted it.
        Sent = "sent",
        /// A formal notice no channel could carry: a staff task instead.
        Task = "task",
        /// A courtesy reminder no channel could carry.
        Skipped = "skipped",
        /// Stopped by a suppression clause or paid meanwhile.
        Suppressed = "suppressed",
        /// The wording was refused, or the channels failed for good.
        Failed = "failed",
    }
}

stored_strings! {
    /// `tickets.category`.
    TicketCategory {
        Complaint = "complaint",
        Repair = "repair",
        /// A bill dispute: the bills it names are out of collection while it is open.
        Dispute = "dispute",
        Suggestion = "suggestion",
        Enquiry = "enquiry",
    }
}

stored_strings! {
    /// `tickets.status`.
    TicketStatus {
        /// An enquiry answered at once from the owner's own data; no staff needed yet.
        Answered = "answered",
        /// Waiting for staff (the SLA clock runs).
        Open = "open",
        /// Staff asked the owner something; the clock stops until the owner answers.
        WaitingOwner = "waiting_owner",
        /// Staff resolved it; the owner may rate it, or reopen it within 7 days.
        Resolved = "resolved",
        /// A duplicate folded into another ticket.
        Merged = "merged",
    }
}

stored_strings! {
    /// `ticket_adjustments.kind`: the bill correction a dispute's resolution asks finance for.
    AdjustmentKind {
        /// Waive a fixed amount of the bill's outstanding late fee.
        WaiveLateFee = "waive_late_fee",
        /// Set the bill's principal to a new amount.
        Adjust = "adjust",
        /// Withdraw a bill nothing has been paid on.
        Cancel = "cancel",
    }
}

stored_strings! {
    /// `ticket_adjustments.status`.
    AdjustmentStatus {
        /// Waiting for finance; the ticket cannot be resolved meanwhile.
        Pending = "pending",
        /// Finance approved it and the ledger applied it.
        Approved = "approved",
        /// Finance refused it; nothing changed on the bill.
        Rejected = "rejected",
    }
}

stored_strings! {
    /// `points_entries.kind` (API.md's points history).
    PointsEntryKind {
        /// Points a payment earned (0 with its reason when it earned none, e.g. paid late).
        Earn = "earn",
        Redeem = "redeem",
        Expire = "expire",
        /// A staff correction, with its reason.
        Adjust = "adjust",
        /// Points taken back because what earned them was refunded.
        Reverse = "reverse",
    }
}

stored_strings! {
    /// `rewards.kind`.
    RewardKind {
        /// Something handed over (e.g. a bag of rice).
        Goods = "goods",
        /// Something done (e.g. a free cleaning).
        Service = "service",
    }
}

stored_strings! {
    /// `redemptions.status`.
    RedemptionStatus {
        /// Points spent, waiting for staff to hand it over.
        Pending = "pending",
        Fulfilled = "fulfilled",
        /// Points returned to their lots, stock restored.
        Cancelled = "cancelled",
    }
}

stored_strings! {
    /// `autodebit_mandates.channel`: how a mandate debits.
    MandateChannel {
        /// WeChat Pay 委托代扣 (papay) contract.
        Wechat = "wechat",
        /// Alipay 周期扣款 agreement.
        Alipay = "alipay",
        /// Bank collection (银行托收) through the company's batch files.
        Bank = "bank",
    }
}

stored_strings! {
    /// `autodebit_mandates.status`.
    MandateStatus {
        /// Waiting for the owner to sign at the gateway.
        Pending = "pending",
        /// Debits run.
        Active = "active",
        /// Debits failed three cycles running: staff look into it; no debits meanwhile.
        Suspended = "suspended",
        /// Cancelled by the owner, the gateway or staff, or replaced before signing: final.
        Terminated = "terminated",
    }
}

stored_strings! {
    /// `autodebit_debits.status`.
    DebitStatus {
        /// Planned; the pre-debit notice is not due yet.
        Scheduled = "scheduled",
        /// The owner was told (amount, date, how to stop it); the debit runs on its day.
        Noticed = "noticed",
        /// A try is at the gateway (its order is `payment_id`).
        Debiting = "debiting",
        /// The bill was paid by this debit.
        Paid = "paid",
        /// The latest try failed; tried again on `next_try_on`.
        Failed = "failed",
        /// Every try failed: the bill is back with the ordinary reminders.
        GivenUp = "given_up",
        /// Never tried (no notice delivered, above the maximum, disputed or held, paid otherwise,
        /// amount changed, mandate ended): the bill stays with the ordinary reminders.
        Skipped = "skipped",
    }
}

stored_strings! {
    /// `installment_plans.status`.
    PlanStatus {
        /// Asked for by the owner; waiting for staff.
        Requested = "requested",
        /// Approved by staff; waiting for the owner to accept the agreement.
        Approved = "approved",
        /// Refused by staff, with the reason: final.
        Rejected = "rejected",
        /// Withdrawn by the owner before it took effect: final.
        Withdrawn = "withdrawn",
        /// Accepted: the covered bills are rescheduled into instalments.
        Active = "active",
        /// Every instalment paid: the frozen late fee is waived. Final.
        Completed = "completed",
        /// An instalment went unpaid too long: the covered bills reopened. Final.
        Defaulted = "defaulted",
        /// Approved but not accepted in time (`installments.accept_within_days`): final.
        Expired = "expired",
    }
}

impl PlanStatus {
    /// Requested, approved or active: its bills are in no other plan.
    pub fn is_live(self) -> bool {
        matches!(self, PlanStatus::Requested | PlanStatus::Approved | PlanStatus::Active)
    }
}

stored_strings! {
    /// `hardship_cases.status`.
    HardshipStatus {
        /// Asked for by the owner, with evidence; waiting for finance.
        Requested = "requested",
        /// Relief granted for a window of due dates.
        Approved = "approved",
        /// Refused with a reason: final.
        Rejected = "rejected",
        /// Withdrawn by the owner before a decision: final.
        Withdrawn = "withdrawn",
        /// Its window is over; staff review it (renewal is a new request). Final.
        Ended = "ended",
    }
}

stored_strings! {
    /// `hardship_cases.category`.
    HardshipCategory {
        /// 低保: a minimum-living-allowance household.
        Dibao = "dibao",
        Disability = "disability",
        SeriousIllness = "serious_illness",
        SuddenCrisis = "sudden_crisis",
    }
}

stored_strings! {
    /// `hardship_cases.relief`.
    Relief {
        /// A percentage off the principal of the bills due in the window.
        Reduction = "reduction",
        /// The bills due in the window fall due on a later day.
        Deferral = "deferral",
    }
}

stored_strings! {
    /// `vacancy_applications.status`.
    VacancyStatus {
        /// Asked for by the owner; waiting for an inspection and a decision.
        Requested = "requested",
        /// Granted: the community's policy discounts the unit's bills until it ends.
        Approved = "approved",
        /// Refused with a reason: final.
        Rejected = "rejected",
        /// Withdrawn by the owner before a decision: final.
        Withdrawn = "withdrawn",
        /// Over: the year's months used, the year out, or the owner moved in. Final.
        Ended = "ended",
    }
}

stored_strings! {
    /// `finance_report_lines.kind`.
    LineKind {
        Income = "income",
        Expense = "expense",
    }
}
