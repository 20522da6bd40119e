//! Table `vacancy_discounts`: one bill's vacancy discount (once per bill) and the months it used
//! toward its unit's yearly cap.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "vacancy_discounts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub application_id: i32,
    pub bill_id: i32,
    pub unit_id: i32,
    /// The calendar year of the bill's period.
    pub year: i32,
    /// Months of the bill's period discounted.
    pub months: i32,
    pub discount_fen: i64,
    pub applied_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
