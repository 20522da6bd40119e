//! Table `points_entries`: the append-only points history. An entry with a source (`payment_line`,
//! `refund`, …) is unique per source, which is what makes each award and reversal happen once.
use crate::states::PointsEntryKind;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "points_entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub points_account_id: i32,
    pub kind: PointsEntryKind,
    /// Signed: earned and returned points are positive, spent, expired and reversed negative.
    pub points: i64,
    pub lot_id: Option<i32>,
    pub source_kind: Option<String>,
    pub source_id: Option<i32>,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    pub actor: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
