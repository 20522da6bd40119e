//! States and kinds, typed (stored as the same strings through sea-orm's `DeriveActiveEnum`, in
//! the entity crate where the columns are declared).
pub use entity::states::{BillStatus, Channel, EntryKind, PaymentStatus, ReminderStatus};

/// Chinese name of a channel, for ledger entries and receipts.
pub fn channel_name(c: Channel) -> &'static str {
    match c {
        Channel::Wechat => "微信支付",
        Channel::Alipay => "支付宝",
        Channel::Cash => "现金",
        Channel::Pos => "POS刷卡",
        Channel::Sandbox => "沙箱支付（演示）",
        Channel::BankTransfer => "银行转账",
        Channel::BankDebit => "银行托收",
    }
}

/// A stored or API spelling, if it names one of `T`'s values.
pub fn parse<T: sea_orm::ActiveEnum<Value = String>>(s: &str) -> Option<T> {
    T::try_from_value(&s.to_string()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{ActiveEnum, Iterable};

    fn spellings<T: ActiveEnum<Value = String> + Iterable + Copy + std::fmt::Display + PartialEq + std::fmt::Debug>(
    ) -> Vec<String> {
        T::iter()
            .map(|v| {
                // What is stored, what the API prints and what parses back are one spelling.
                assert_eq!(v.to_value(), v.to_string());
                assert_eq!(parse::<T>(&v.to_string()), Some(v));
                v.to_string()
            })
            .collect()
    }

    #[test]
    fn typed_states_store_the_strings_the_database_already_holds() {
        assert_eq!(
            spellings::<BillStatus>(),
            ["unpaid", "paid", "cancelled", "rescheduled"]
        );
        assert_eq!(
            spellings::<PaymentStatus>(),
            ["pending", "paid", "closed", "refunded", "partially_refunded"]
        );
        assert_eq!(
            spellings::<Channel>(),
            [
                "wechat",
                "alipay",
                "sandbox",
                "cash",
                "pos",
                "bank_transfer",
                "bank_debit"
            ]
        );
        assert_eq!(
            spellings::<EntryKind>(),
            [
                "payment",
                "prepay_discount",
                "refund",
                "late_fee_waiver",
                "adjustment",
                "cancel",
                "reschedule",
                "instalment_credit",
                "deferral"
            ]
        );
        assert_eq!(
            spellings::<ReminderStatus>(),
            ["pending", "sending", "sent", "task", "skipped", "suppressed", "failed"]
        );
        assert_eq!(
            spellings::<entity::states::AdjustmentKind>(),
            ["waive_late_fee", "adjust", "cancel"]
        );
        assert_eq!(
            spellings::<entity::states::AdjustmentStatus>(),
            ["pending", "approved", "rejected"]
        );
        assert_eq!(
            spellings::<entity::states::PointsEntryKind>(),
            ["earn", "redeem", "expire", "adjust", "reverse"]
        );
        assert_eq!(spellings::<entity::states::RewardKind>(), ["goods", "service"]);
        assert_eq!(
            spellings::<entity::states::RedemptionStatus>(),
            ["pending", "fulfilled", "cancelled"]
        );
        assert_eq!(parse::<BillStatus>("waived"), None);
        assert_eq!(
            serde_json::to_string(&PaymentStatus::PartiallyRefunded).unwrap(),
            "\"partially_refunded\""
        );
    }
}
