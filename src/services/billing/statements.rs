//! The hand-built statements behind owners' bill look-ups: what took ten round trips takes one
//! (kept apart because sea-query's `ExprTrait` shadows `Ord::min`/`max` wherever it is in scope).
//!
//! Column names in their answers: `l_*` a link, `b_*` a bill, `e_*` an entry, `c_*` a community,
//! and `own`, `unit_code`, `fee_item_name`, `terms_newest`.
use entity::{bill, bill_entry, community, fee_item, late_fee_term, owner, owner_account, unit, unit_owner};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, JoinType, Query, QueryStatementBuilder, SelectStatement};
use sea_orm::{EntityTrait, IdenStatic, Iterable};

fn t(name: &str) -> Alias {
    Alias::new(name)
}

/// The account's phone index, as an uncorrelated sub-select (read once per statement).
fn phone_of(account_id: i32) -> Expr {
    let q = Query::select()
        .column((owner_account::Entity, owner_account::Column::PhoneIndex))
        .from(owner_account::Entity)
        .and_where(Expr::col((owner_account::Entity, owner_account::Column::Id)).eq(account_id))
        .to_owned();
    Expr::SubQuery(None, Box::new(q.into_sub_query_statement()))
}

/// Units one of the account's owner records is linked to (now or ever), each once.
fn reached_units(account_id: i32) -> SelectStatement {
    Query::select()
        .distinct()
        .column((t("l2"), unit_owner::Column::UnitId))
        .from_as(unit_owner::Entity, t("l2"))
        .join_as(
            JoinType::InnerJoin,
            owner::Entity,
            t("o2"),
            Expr::col((t("o2"), owner::Column::Id)).equals((t("l2"), unit_owner::Column::OwnerId)),
        )
        .and_where(Expr::col((t("o2"), owner::Column::PhoneIndex)).eq(phone_of(account_id)))
        .to_owned()
}

/// `SELECT` every column of an entity's table as `{prefix}{column}`.
fn prefixed<E: EntityTrait>(q: &mut SelectStatement, table: &str, prefix: &str) {
    for c in E::Column::iter() {
        q.expr_as(
            Expr::col((t(table), t(c.as_str()))),
            t(&format!("{prefix}{}", c.as_str())),
        );
    }
}

/// Every link of every reached unit (the ownership rule weighs each against the others), marked
/// `own` when its owner has the account's phone, with the unit's community and code.
fn links(account_id: i32) -> SelectStatement {
    let mut q = Query::select();
    prefixed::<unit_owner::Entity>(&mut q, "l", "l_");
    q.expr_as(Expr::col((t("u"), unit::Column::CommunityId)), t("unit_community"))
        .expr_as(Expr::col((t("u"), unit::Column::Code)), t("unit_code"))
        .expr_as(
            Expr::case(
                Expr::col((t("o"), owner::Column::PhoneIndex)).eq(phone_of(account_id)),
                1,
            )
            .finally(0),
            t("own"),
        )
        // The few reached units drive the joins (as a semi-join the planner may join every link first).
        .from_subquery(reached_units(account_id), t("r"))
        .join_as(
            JoinType::InnerJoin,
            unit_owner::Entity,
            t("l"),
            Expr::col((t("l"), unit_owner::Column::UnitId)).equals((t("r"), unit_owner::Column::UnitId)),
        )
        .join_as(
            JoinType::InnerJoin,
            unit::Entity,
            t("u"),
            Expr::col((t("u"), unit::Column::Id)).equals((t("l"), unit_owner::Column::UnitId)),
        )
        .join_as(
            JoinType::InnerJoin,
            owner::Entity,
            t("o"),
            Expr::col((t("o"), owner::Column::Id)).equals((t("l"), unit_owner::Column::OwnerId)),
        );
    q
}

/// What an account's answers depend on: `links` alone.
pub(super) fn reach_statement(account_id: i32) -> SelectStatement {
    links(account_id)
}

/// `links`, each joined to its unit's community (with the fingerprint of its dated terms) and
/// left-joined to the unit's bills (with the fee item's name) and their entries: one row per link,
/// bill and entry, everything an owner's bill answers need.
pub(super) fn owner_bills_statement(account_id: i32) -> SelectStatement {
    let newest_terms = Query::select()
        .expr(Func::max(Expr::col((late_fee_term::Entity, late_fee_term::Column::Id))))
        .from(late_fee_term::Entity)
        .and_where(
            Expr::col((late_fee_term::Entity, late_fee_term::Column::CommunityId))
                .equals((t("c"), community::Column::Id)),
        )
        .to_owned();
    let mut q = links(account_id);
    prefixed::<community::Entity>(&mut q, "c", "c_");
    prefixed::<bill::Entity>(&mut q, "b", "b_");
    prefixed::<bill_entry::Entity>(&mut q, "e", "e_");
    q.expr_as(Expr::col((t("f"), fee_item::Column::Name)), t("fee_item_name"))
        .expr_as(
            Expr::SubQuery(None, Box::new(newest_terms.into_sub_query_statement())),
            t("terms_newest"),
        )
        .join_as(
            JoinType::InnerJoin,
            community::Entity,
            t("c"),
            Expr::col((t("c"), community::Column::Id)).equals((t("u"), unit::Column::CommunityId)),
        )
        .join_as(
            JoinType::LeftJoin,
            bill::Entity,
            t("b"),
            Expr::col((t("b"), bill::Column::UnitId)).equals((t("l"), unit_owner::Column::UnitId)),
        )
        .join_as(
            JoinType::LeftJoin,
            fee_item::Entity,
            t("f"),
            Expr::col((t("f"), fee_item::Column::Id)).equals((t("b"), bill::Column::FeeItemId)),
        )
        .join_as(
            JoinType::LeftJoin,
            bill_entry::Entity,
            t("e"),
            Expr::col((t("e"), bill_entry::Column::BillId)).equals((t("b"), bill::Column::Id)),
        );
    q
}
