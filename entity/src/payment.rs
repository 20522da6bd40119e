//! Table `payments`.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub out_trade_no: String,
    pub community_id: i32,
    pub account_id: Option<i32>,
    pub staff_id: Option<i32>,
    pub channel: crate::states::Channel,
    pub kind: String,
    pub amount_fen: i64,
    pub refunded_fen: i64,
    pub status: crate::states::PaymentStatus,
    pub pay_params: Option<String>,
    pub idempotency_key: Option<String>,
    pub transaction_id: Option<String>,
    pub receipt_no: Option<String>,
    pub reference: Option<String>,
    pub prepay: Option<String>,
    pub expires_at: DateTimeUtc,
    pub paid_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub reconciled_at: Option<DateTimeUtc>,
    /// Points this order spends toward its bills (held until it is paid or closes).
    pub points_used: Option<i64>,
    /// What those points pay, in fen (not charged through the channel: `amount_fen` is the cash).
    pub points_fen: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
