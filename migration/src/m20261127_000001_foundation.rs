//! Foundation schema: communities, units, owners and their history, WeChat accounts, staff,
//! personal-data access log, audit log, fee items and bills.
//!
//! Money is BIGINT fen, areas BIGINT hundredths of m², rates TEXT decimal strings: SQLite would
//! otherwise store decimals as floats.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn created_at() -> ColumnDef {
    timestamp_with_time_zone("created_at")
}

fn index(table: &'static str, name: &'static str, cols: &[&'static str], unique: bool) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(table);
    for c in cols {
        idx.col(*c);
    }
    if unique {
        idx.unique();
    }
    idx.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("communities")
                .col(pk_auto("id"))
                .col(string_uniq("code"))
                .col(string("name"))
                .col(string("timezone"))
                .col(string("late_fee_daily_rate"))
                .col(integer("late_fee_grace_days"))
                .col(string("late_fee_cap_ratio"))
                .col(created_at())
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("units")
                .col(pk_auto("id"))
                .col(integer("community_id"))
                .col(string("building"))
                .col(string("code"))
                .col(big_integer("area_centi_m2"))
                .col(date_null("handover_date"))
                .col(created_at())
                .foreign_key(
                    ForeignKey::create()
                        .from("units", "community_id")
                        .to("communities", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "units",
            "ux_units_community_code",
            &["community_id", "code"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("owners")
                .col(pk_auto("id"))
                .col(integer("community_id"))
                .col(string("name"))
                .col(string("phone_enc"))
                .col(string("phone_index"))
                .col(created_at())
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("owners", "community_id")
                        .to("communities", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index("owners", "ix_owners_phone_index", &["phone_index"], false))
            .await?;
        m.create_index(index("owners", "ix_owners_community", &["community_id"], false))
            .await?;

        // Ownership history: a transfer (过户) ends rows with `end_date` and adds new ones.
        m.create_table(
            Table::create()
                .table("unit_owners")
                .col(pk_auto("id"))
                .col(integer("unit_id"))
                .col(integer("owner_id"))
                .col(date("start_date"))
                .col(date_null("end_date"))
                .col(created_at())
                .foreign_key(ForeignKey::create().from("unit_owners", "unit_id").to("units", "id"))
                .foreign_key(ForeignKey::create().from("unit_owners", "owner_id").to("owners", "id"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("unit_owners", "ix_unit_owners_unit", &["unit_id"], false))
            .await?;
        m.create_index(index("unit_owners", "ix_unit_owners_owner", &["owner_id"], false))
            .await?;

        // A WeChat account (openid). It reaches owner records through its verified phone's blind index.
        m.create_table(
            Table::create()
                .table("owner_accounts")
                .col(pk_auto("id"))
                .col(string_uniq("openid"))
                .col(string_null("unionid"))
                .col(string_null("phone_enc"))
                .col(string_null("phone_index"))
                .col(timestamp_with_time_zone_null("phone_verified_at"))
                .col(created_at())
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "owner_accounts",
            "ix_owner_accounts_phone_index",
            &["phone_index"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("consents")
                .col(pk_auto("id"))
                .col(integer("account_id"))
                .col(string("policy_version"))
                .col(timestamp_with_time_zone("accepted_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("consents", "account_id")
                        .to("owner_accounts", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "consents",
            "ux_consents_account_version",
            &["account_id", "policy_version"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("staff_users")
                .col(pk_auto("id"))
                .col(string_uniq("username"))
                .col(string("password_hash"))
                .col(string("role"))
                .col(boolean("active"))
                .col(created_at())
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("staff_communities")
                .col(pk_auto("id"))
                .col(integer("staff_id"))
                .col(integer("community_id"))
                .foreign_key(
                    ForeignKey::create()
                        .from("staff_communities", "staff_id")
                        .to("staff_users", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("staff_communities", "community_id")
                        .to("communities", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "staff_communities",
            "ux_staff_communities",
            &["staff_id", "community_id"],
            true,
        ))
        .await?;

        // PIPL: who saw whose full phone number, and when.
        m.create_table(
            Table::create()
                .table("pii_access_log")
                .col(pk_auto("id"))
                .col(integer("staff_id"))
                .col(integer("owner_id"))
                .col(string("field"))
                .col(string_null("purpose"))
                .col(timestamp_with_time_zone("at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("pii_access_log", "ix_pii_access_owner", &["owner_id"], false))
            .await?;

        // Who changed what, when and why (edits, transfers, deactivations).
        m.create_table(
            Table::create()
                .table("audit_log")
                .col(pk_auto("id"))
                .col(string("actor"))
                .col(string("action"))
                .col(string("entity"))
                .col(integer("entity_id"))
                .col(text("detail"))
                .col(timestamp_with_time_zone("at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("audit_log", "ix_audit_entity", &["entity", "entity_id"], false))
            .await?;

        m.create_table(
            Table::create()
                .table("fee_items")
                .col(pk_auto("id"))
                .col(integer("community_id"))
                .col(string("name"))
                .col(string("kind"))
                .col(string("unit_price"))
                .col(string("cycle"))
                .col(integer("due_day"))
                .col(text_null("applies_to"))
                .col(text_null("prepay_discounts"))
                .col(date_null("effective_from"))
                .col(boolean("active"))
                .col(created_at())
                .foreign_key(
                    ForeignKey::create()
                        .from("fee_items", "community_id")
                        .to("communities", "id"),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("bills")
                .col(pk_auto("id"))
                .col(integer("community_id"))
                .col(integer("unit_id"))
                .col(integer("fee_item_id"))
                .col(string("period"))
                .col(date("period_start"))
                .col(date("period_end"))
                .col(date("due_date"))
                .col(big_integer("principal_fen"))
                .col(big_integer("paid_principal_fen"))
                .col(big_integer("late_fee_paid_fen"))
                .col(big_integer("late_fee_waived_fen"))
                .col(string("status"))
                .col(timestamp_with_time_zone_null("paid_at"))
                .col(created_at())
                .foreign_key(ForeignKey::create().from("bills", "unit_id").to("units", "id"))
                .foreign_key(ForeignKey::create().from("bills", "fee_item_id").to("fee_items", "id"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "bills",
            "ux_bills_unit_item_period",
            &["unit_id", "fee_item_id", "period"],
            true,
        ))
        .await?;
        m.create_index(index(
            "bills",
            "ix_bills_community_status",
            &["community_id", "status"],
            false,
        ))
        .await?;
        Ok(())
    }
}
