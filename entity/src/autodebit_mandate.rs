//! Table `autodebit_mandates`: an owner's standing authorisation to debit chosen units' bills.
use crate::states::{MandateChannel, MandateStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "autodebit_mandates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The owner account that signed.
    pub account_id: i32,
    pub channel: MandateChannel,
    pub status: MandateStatus,
    /// Ours, unique: WeChat's `out_contract_code`, Alipay's `external_agreement_no`.
    pub contract_code: String,
    /// The gateway's: WeChat's `contract_id`, Alipay's `agreement_no` (once signed).
    pub gateway_contract_id: Option<String>,
    pub bank_name: Option<String>,
    /// Bank account number, encrypted (`DataCipher`).
    #[sea_orm(column_type = "Text", nullable)]
    pub account_no_enc: Option<String>,
    /// Blind index of the account number (matches a bank's result file without decrypting).
    pub account_no_index: Option<String>,
    /// Last four digits, for `**** 1234`.
    pub account_last4: Option<String>,
    /// Account holder's name, encrypted.
    #[sea_orm(column_type = "Text", nullable)]
    pub holder_enc: Option<String>,
    /// The most one debit may take, if the owner set one.
    pub max_fen: Option<i64>,
    /// Debit cycles in a row whose every try failed.
    pub failed_cycles: i32,
    pub created_at: DateTimeUtc,
    pub signed_at: Option<DateTimeUtc>,
    pub ended_at: Option<DateTimeUtc>,
    /// `owner`, `gateway`, `staff` or `replaced`.
    pub ended_by: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub end_reason: Option<String>,
    /// When the gateway's contract was ended too (or found needing nothing); NULL while we still
    /// owe the gateway a termination call.
    pub gateway_ended_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
