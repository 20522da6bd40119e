//! Ticket rules (issue #14): categories and states, default SLA budgets, the reopen window, what a
//! rating may be, and when a clock is near its breach. Pure; `domain::sla` measures the clocks.
use crate::domain::money::Fen;
use crate::domain::sla::Pause;
use chrono::{DateTime, Duration, Utc};
pub use entity::states::{AdjustmentKind, AdjustmentStatus, TicketCategory, TicketStatus};
use serde::{Deserialize, Serialize};

/// Owners may reopen a resolved ticket for this long after its resolution.
pub const REOPEN_DAYS: i64 = 7;
/// Photos one message may carry.
pub const MAX_PHOTOS: usize = 9;
pub const MAX_TITLE: usize = 50;
pub const MAX_BODY: usize = 2000;
pub const MAX_COMMENT: usize = 500;

/// How long staff have, in working time, to answer first and to resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub first_response: Duration,
    pub resolution: Duration,
}

/// The SLA settings key of a ticket: its category, or `emergency_repair`.
pub fn sla_key(category: TicketCategory, emergency: bool) -> &'static str {
    if emergency && category == TicketCategory::Repair {
        "emergency_repair"
    } else {
        category.as_str()
    }
}

/// Every SLA settings key, in the order settings list them.
pub const SLA_KEYS: [&str; 6] = [
    "complaint",
    "repair",
    "emergency_repair",
    "dispute",
    "suggestion",
    "enquiry",
];

/// The company defaults: first response 24 h; resolution 72 h for repairs, 7 days for complaints,
/// disputes and suggestions, 72 h for enquiries; an emergency repair is answered and resolved within 4 h
/// (a first-response budget never exceeds the resolution budget).
pub fn default_budget(key: &str) -> Budget {
    let resolution = match key {
        "emergency_repair" => Duration::hours(4),
        "repair" | "enquiry" => Duration::hours(72),
        _ => Duration::days(7),
    };
    Budget {
        first_response: Duration::hours(24).min(resolution),
        resolution,
    }
}

/// A clock is near its breach once four fifths of its budget have run (the assignee is warned).
pub fn near_breach(worked: Duration, budget: Duration) -> bool {
    worked * 5 >= budget * 4
}

/// Chinese name of a category, as owners and staff read it.
pub fn category_label(c: TicketCategory) -> &'static str {
    match c {
        TicketCategory::Complaint => "投诉",
        TicketCategory::Repair => "报修",
        TicketCategory::Dispute => "账单异议",
        TicketCategory::Suggestion => "建议",
        TicketCategory::Enquiry => "咨询",
    }
}

/// Chinese name of a state.
pub fn status_label(s: TicketStatus) -> &'static str {
    match s {
        TicketStatus::Answered => "已自动答复",
        TicketStatus::Open => "处理中",
        TicketStatus::WaitingOwner => "待业主回复",
        TicketStatus::Resolved => "已解决",
        TicketStatus::Merged => "已合并",
    }
}

/// Whether the ticket still needs staff (its clocks run or are paused, a dispute suppresses).
pub fn is_active(s: TicketStatus) -> bool {
    matches!(s, TicketStatus::Open | TicketStatus::WaitingOwner)
}

/// Whether an owner may still reopen a ticket resolved at `resolved_at`.
pub fn may_reopen(status: TicketStatus, resolved_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    status == TicketStatus::Resolved && resolved_at.is_some_and(|r| now <= r + Duration::days(REOPEN_DAYS))
}

/// A rating score, 1 to 5.
pub fn score(raw: i64) -> Result<i32, String> {
    if (1..=5).contains(&raw) {
        i32::try_from(raw).map_err(|_| "评分应为1到5".to_string())
    } else {
        Err("评分应为1到5".into())
    }
}

/// A pause as stored in `tickets.pauses`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredPause {
    pub from: DateTime<Utc>,
    pub to: Option<DateTime<Utc>>,
}

/// Reads `tickets.pauses` (an unreadable value is no pauses, never a crash: the column is ours).
pub fn pauses_of(json: &str) -> Vec<Pause> {
    serde_json::from_str::<Vec<StoredPause>>(json)
        .unwrap_or_default()
        .into_iter()
        .map(|p| Pause { from: p.from, to: p.to })
        .collect()
}

/// Writes pauses back.
pub fn pauses_json(pauses: &[Pause]) -> String {
    let stored: Vec<StoredPause> = pauses.iter().map(|p| StoredPause { from: p.from, to: p.to }).collect();
    serde_json::to_string(&stored).unwrap_or_else(|_| "[]".into())
}

/// Whether a pause is running now.
pub fn paused(pauses: &[Pause]) -> bool {
    pauses.iter().any(|p| p.to.is_none())
}

/// A ticket as the service report counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Served {
    pub category: TicketCategory,
    /// Minutes from opening to the first staff answer, if answered.
    pub first_response_minutes: Option<i64>,
    /// Minutes from opening to its (latest) resolution, if resolved.
    pub resolution_minutes: Option<i64>,
    pub breached: bool,
    pub rating: Option<i32>,
    /// Resolved at least once (resolved now, or reopened after a resolution).
    pub ever_resolved: bool,
    pub reopened: bool,
}

/// The nearest-rank percentile of sorted values (`p` in 1..=100): the smallest value with at
/// least `p` % of the values at or below it; None for no values.
pub fn percentile(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).clamp(1, sorted.len());
    sorted.get(rank - 1).copied()
}

/// What a group of tickets adds up to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceFigures {
    pub tickets: usize,
    pub resolved: usize,
    pub first_response_median: Option<i64>,
    pub first_response_p90: Option<i64>,
    pub resolution_median: Option<i64>,
    pub resolution_p90: Option<i64>,
    pub breached: usize,
    pub rated: usize,
    pub rating_sum: i64,
    pub reopened: usize,
    pub ever_resolved: usize,
}

impl ServiceFigures {
    pub fn of<'a>(tickets: impl IntoIterator<Item = &'a Served>) -> ServiceFigures {
        let mut f = ServiceFigures::default();
        let mut first = Vec::new();
        let mut resolution = Vec::new();
        for t in tickets {
            f.tickets += 1;
            first.extend(t.first_response_minutes);
            if let Some(m) = t.resolution_minutes {
                resolution.push(m);
                f.resolved += 1;
            }
            f.breached += usize::from(t.breached);
            if let Some(r) = t.rating {
                f.rated += 1;
                f.rating_sum += i64::from(r);
            }
            f.reopened += usize::from(t.reopened);
            f.ever_resolved += usize::from(t.ever_resolved);
        }
        first.sort_unstable();
        resolution.sort_unstable();
        f.first_response_median = percentile(&first, 50);
        f.first_response_p90 = percentile(&first, 90);
        f.resolution_median = percentile(&resolution, 50);
        f.resolution_p90 = percentile(&resolution, 90);
        f
    }

    /// Share of tickets that missed a deadline.
    pub fn breach_rate(&self) -> Option<rust_decimal::Decimal> {
        crate::domain::reports::rate(self.breached as i64, self.tickets as i64)
    }

    /// Share of resolved tickets the owner reopened.
    pub fn reopen_rate(&self) -> Option<rust_decimal::Decimal> {
        crate::domain::reports::rate(self.reopened as i64, self.ever_resolved as i64)
    }

    /// Mean rating to two decimals, half-up.
    pub fn average_rating(&self) -> Option<rust_decimal::Decimal> {
        (self.rated > 0).then(|| {
            (rust_decimal::Decimal::from(self.rating_sum) / rust_decimal::Decimal::from(self.rated as i64))
                .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        })
    }
}

/// What a requested bill correction does, in the words the thread, the inbox and the console use.
/// `amount` is the late fee to waive or the new principal; `before` the principal when asked.
pub fn describe_adjustment(kind: AdjustmentKind, amount: Option<i64>, before: i64) -> String {
    let yuan = |f: i64| format!("¥{}", Fen(f).to_yuan_string());
    match kind {
        AdjustmentKind::WaiveLateFee => format!("减免滞纳金{}", yuan(amount.unwrap_or_default())),
        AdjustmentKind::Adjust => format!("本金由{}调整为{}", yuan(before), yuan(amount.unwrap_or_default())),
        AdjustmentKind::Cancel => format!("撤销账单（本金{}）", yuan(before)),
    }
}

pub fn adjustment_status_label(s: AdjustmentStatus) -> &'static str {
    match s {
        AdjustmentStatus::Pending => "待财务审批",
        AdjustmentStatus::Approved => "已批准并入账",
        AdjustmentStatus::Rejected => "已驳回",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_and_figures_add_up() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&v, 50), Some(5));
        assert_eq!(percentile(&v, 90), Some(9));
        assert_eq!(percentile(&v, 100), Some(10));
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[1, 2, 3], 50), Some(2));
        let t = |first, res, breached, rating, reopened| Served {
            category: TicketCategory::Complaint,
            first_response_minutes: first,
            resolution_minutes: res,
            breached,
            rating,
            ever_resolved: res.is_some() || reopened,
            reopened,
        };
        let all = [
            t(Some(30), Some(600), false, Some(5), false),
            t(Some(90), Some(1200), true, Some(4), true),
            t(Some(10), None, false, None, false),
            t(None, None, true, None, false),
        ];
        let f = ServiceFigures::of(&all);
        assert_eq!(f.tickets, 4);
        assert_eq!(f.first_response_median, Some(30));
        assert_eq!(f.first_response_p90, Some(90));
        assert_eq!(f.resolution_median, Some(600));
        assert_eq!(f.breach_rate().map(|d| format!("{d:.4}")), Some("0.5000".into()));
        assert_eq!(f.reopen_rate().map(|d| format!("{d:.4}")), Some("0.5000".into()));
        assert_eq!(f.average_rating().map(|d| format!("{d:.2}")), Some("4.50".into()));
        assert_eq!(ServiceFigures::of(&[]).average_rating(), None);
    }

    #[test]
    fn defaults_follow_the_issue_and_emergencies_are_fastest() {
        let b = |k| default_budget(k);
        assert_eq!(b("repair").resolution, Duration::hours(72));
        assert_eq!(b("complaint").resolution, Duration::days(7));
        assert_eq!(b("dispute").resolution, Duration::days(7));
        assert_eq!(b("complaint").first_response, Duration::hours(24));
        assert_eq!(b("emergency_repair").resolution, Duration::hours(4));
        assert_eq!(b("emergency_repair").first_response, Duration::hours(4));
        assert_eq!(sla_key(TicketCategory::Repair, true), "emergency_repair");
        // Only a repair can be an emergency.
        assert_eq!(sla_key(TicketCategory::Complaint, true), "complaint");
        for k in SLA_KEYS {
            assert!(b(k).first_response <= b(k).resolution, "{k}");
        }
    }

    #[test]
    fn reopen_window_is_seven_days_from_resolution() {
        let r: DateTime<Utc> = "2026-11-01T02:00:00Z".parse().unwrap();
        assert!(may_reopen(TicketStatus::Resolved, Some(r), r + Duration::days(7)));
        assert!(!may_reopen(
            TicketStatus::Resolved,
            Some(r),
            r + Duration::days(7) + Duration::seconds(1)
        ));
        assert!(!may_reopen(TicketStatus::Open, Some(r), r));
        assert!(!may_reopen(TicketStatus::Resolved, None, r));
    }

    #[test]
    fn near_breach_at_four_fifths_and_scores_one_to_five() {
        assert!(!near_breach(Duration::minutes(79), Duration::minutes(100)));
        assert!(near_breach(Duration::minutes(80), Duration::minutes(100)));
        assert_eq!(score(1), Ok(1));
        assert_eq!(score(5), Ok(5));
        assert!(score(0).is_err() && score(6).is_err() && score(-1).is_err());
    }

    #[test]
    fn pauses_round_trip_through_their_column() {
        let from: DateTime<Utc> = "2026-11-01T02:00:00Z".parse().unwrap();
        let ps = vec![
            Pause {
                from,
                to: Some(from + Duration::hours(1)),
            },
            Pause {
                from: from + Duration::hours(2),
                to: None,
            },
        ];
        assert_eq!(pauses_of(&pauses_json(&ps)), ps);
        assert!(paused(&ps));
        assert!(pauses_of("not json").is_empty());
    }

    #[test]
    fn adjustments_are_described_with_their_amounts_in_yuan() {
        assert_eq!(
            describe_adjustment(AdjustmentKind::WaiveLateFee, Some(1234), 50000),
            "减免滞纳金¥12.34"
        );
        assert_eq!(
            describe_adjustment(AdjustmentKind::Adjust, Some(40000), 50000),
            "本金由¥500.00调整为¥400.00"
        );
        assert_eq!(
            describe_adjustment(AdjustmentKind::Cancel, None, 50000),
            "撤销账单（本金¥500.00）"
        );
    }
}
