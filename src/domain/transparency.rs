//! Fee transparency (财务公开): the categories a community's monthly income and expense lines use,
//! and which of the recent months have no published report (the gaps the dashboard shows).
use crate::domain::period::Period;
use entity::states::LineKind;
use std::collections::BTreeSet;

/// (key, kind, label): the categories a line may use.
pub const CATEGORIES: &[(&str, LineKind, &str)] = &[
    ("property_fee", LineKind::Income, "物业服务费收入"),
    ("parking", LineKind::Income, "停车费收入"),
    ("common_area", LineKind::Income, "公共区域经营收入"),
    ("other_income", LineKind::Income, "其他收入"),
    ("staff", LineKind::Expense, "人员费用"),
    ("cleaning", LineKind::Expense, "保洁费用"),
    ("greening", LineKind::Expense, "绿化养护"),
    ("security", LineKind::Expense, "秩序维护（安保）"),
    ("repairs", LineKind::Expense, "共用设施设备维修养护"),
    ("utilities", LineKind::Expense, "公共水电能耗"),
    ("administration", LineKind::Expense, "办公及管理费用"),
    ("other_expense", LineKind::Expense, "其他支出"),
];

/// A category's kind and label; None for an unknown key.
pub fn category(key: &str) -> Option<(LineKind, &'static str)> {
    CATEGORIES
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, kind, label)| (*kind, *label))
}

/// The last `months` months up to and including `through` that have no published report, oldest
/// first.
pub fn gaps(published: &BTreeSet<String>, through: Period, months: u32) -> Vec<Period> {
    let mut out = Vec::new();
    let mut p = through;
    for _ in 0..months {
        if !published.contains(&p.to_string()) {
            out.push(p);
        }
        p = p.previous_month();
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_are_known_by_key_with_their_kind() {
        assert_eq!(category("cleaning"), Some((LineKind::Expense, "保洁费用")));
        assert_eq!(category("property_fee").map(|c| c.0), Some(LineKind::Income));
        assert_eq!(category("bonus"), None);
        let keys: BTreeSet<&str> = CATEGORIES.iter().map(|c| c.0).collect();
        assert_eq!(keys.len(), CATEGORIES.len(), "keys are unique");
    }

    #[test]
    fn gaps_are_the_recent_months_without_a_report() {
        let through = Period::parse("2026-10").unwrap();
        let published: BTreeSet<String> = ["2026-10", "2026-08", "2025-12"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let missing: Vec<String> = gaps(&published, through, 4).iter().map(|p| p.to_string()).collect();
        assert_eq!(missing, ["2026-07", "2026-09"]);
        assert_eq!(gaps(&published, through, 12).len(), 9);
    }
}
