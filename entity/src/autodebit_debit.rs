//! Table `autodebit_debits`: one mandate's debit of one bill, from plan to result.
use crate::states::DebitStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "autodebit_debits")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub mandate_id: i32,
    pub bill_id: i32,
    pub unit_id: i32,
    pub community_id: i32,
    /// What the pre-debit notice states, and all a try may take.
    pub amount_fen: i64,
    /// The bill's due date (community local): the first try's day.
    pub debit_on: Date,
    pub status: DebitStatus,
    /// Tries made so far.
    pub attempts: i32,
    /// When a failed debit is tried again.
    pub next_try_on: Option<Date>,
    /// The order of the latest try.
    pub payment_id: Option<i32>,
    /// The bank batch file a bank debit went out in.
    pub batch_id: Option<i32>,
    pub noticed_at: Option<DateTimeUtc>,
    /// `wechat` or `sms`.
    pub notice_channel: Option<String>,
    /// Why it was skipped or why the latest try failed, in words the owner is told.
    #[sea_orm(column_type = "Text", nullable)]
    pub reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
