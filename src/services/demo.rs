//! `serve --demo`: seeds a small property company into an empty database so the API can be tried
//! at once. Deterministic, so every demo start looks the same.
use crate::domain::late_fee::LateFeePolicy;
use crate::domain::period::Period;
use crate::domain::Fen;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use entity::{bill, bill_entry, community, fee_item, owner, unit, unit_owner};
use rust_decimal::Decimal;
use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, Set};

/// The demo owner whose phone `POST /auth/demo/login` accepts (printed at start-up).
pub const DEMO_OWNER_PHONE: &str = "13800000001";

/// A tiny deterministic generator (no need for real randomness in demo data).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

const SURNAMES: [&str; 12] = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "徐", "孙"];
const GIVEN: [&str; 12] = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟"];

struct Spec {
    code: &'static str,
    name: &'static str,
    buildings: &'static [&'static str],
    price: &'static str,
}

/// Seeds when the database holds no community; returns whether it did.
pub async fn seed_if_empty(state: &AppState) -> ApiResult<bool> {
    if community::Entity::find().count(&state.db).await? > 0 {
        return Ok(false);
    }
    let specs = [
        Spec {
            code: "CHHY",
            name: "翠湖花园",
            buildings: &["A", "B", "C", "D"],
            price: "2.50",
        },
        Spec {
            code: "JXJY",
            name: "锦绣家园",
            buildings: &["1", "2", "3"],
            price: "1.80",
        },
    ];
    let now = state.clock.now();
    let today = state.today();
    let policy =
        LateFeePolicy::parse("0.0005", 15, "1.00").map_err(|_| ApiError::internal(anyhow::anyhow!("demo policy")))?;
    let mut rng = Lcg(20261127);
    let mut phone_no = 0u32;
    let txn = crate::db::begin_write(&state.db).await?;
    for spec in &specs {
        let c = community::ActiveModel {
            code: Set(spec.code.into()),
            name: Set(spec.name.into()),
            timezone: Set(state.settings.app.timezone.clone()),
            late_fee_daily_rate: Set("0.0005".into()),
            late_fee_grace_days: Set(15),
            late_fee_cap_ratio: Set("1.00".into()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let property = fee_item::ActiveModel {
            community_id: Set(c.id),
            name: Set("物业服务费".into()),
            kind: Set("per_area".into()),
            unit_price: Set(spec.price.into()),
            cycle: Set("monthly".into()),
            due_day: Set(15),
            applies_to: Set(None),
            prepay_discounts: Set(Some(r#"[{"months":12,"rate":"0.05"}]"#.into())),
            effective_from: Set(None),
            active: Set(true),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let mut units = Vec::new();
        for b in spec.buildings {
            for entrance in 1..=2 {
                for floor in 1..=8 {
                    for room in 1..=2 {
                        let area = 6_000 + rng.next(8_000) as i64; // 60.00–139.99 m²
                        let u = unit::ActiveModel {
                            community_id: Set(c.id),
                            building: Set((*b).into()),
                            code: Set(format!("{b}-{entrance}-{floor}{room:02}")),
                            area_centi_m2: Set(area),
                            handover_date: Set(None),
                            created_at: Set(now),
                            ..Default::default()
                        }
                        .insert(&txn)
                        .await?;
                        units.push(u);
                    }
                }
            }
        }
        // About one unit in five rents a parking space.
        let parking_units: Vec<i32> = units.iter().filter(|_| rng.next(5) == 0).map(|u| u.id).collect();
        let parking = fee_item::ActiveModel {
            community_id: Set(c.id),
            name: Set("车位管理费".into()),
            kind: Set("fixed".into()),
            unit_price: Set("150.00".into()),
            cycle: Set("monthly".into()),
            due_day: Set(15),
            applies_to: Set(Some(serde_json::json!({ "unit_ids": parking_units }).to_string())),
            prepay_discounts: Set(None),
            effective_from: Set(None),
            active: Set(true),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;

        let mut entries = Vec::new();
        for u in &units {
            phone_no += 1;
            let phone = format!("138{phone_no:08}");
            let name = format!("{}{}", SURNAMES[rng.next(12) as usize], GIVEN[rng.next(12) as usize]);
            let o = owner::ActiveModel {
                community_id: Set(c.id),
                name: Set(name),
                phone_enc: Set(state.cipher.encrypt(&phone).map_err(ApiError::internal)?),
                phone_index: Set(state.cipher.blind_index(&phone)),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            let since = today - chrono::Duration::days(400);
            unit_owner::ActiveModel {
                unit_id: Set(u.id),
                owner_id: Set(o.id),
                start_date: Set(since),
                end_date: Set(None),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            // Payment habit: most pay, some are late, a few have stopped paying.
            let habit = rng.next(100);
            let mut period = Period::month_of(today);
            for age in 0..6 {
                let mut items = vec![(&property, price_fen(spec.price, u.area_centi_m2))];
                if parking_units.contains(&u.id) {
                    items.push((&parking, 15_000));
                }
                for (item, principal) in items {
                    let due = period.due_date(15);
                    let paid = due < today
                        && match habit {
                            0..=69 => true,
                            70..=89 => age >= 2,
                            _ => false,
                        };
                    // Punctual payers pay a few days before the due date; late payers 20 days
                    // after it, with the late fee that had accrued by then.
                    let habit_late = (70..=89).contains(&habit);
                    let paid_on = if habit_late {
                        due + chrono::Duration::days(20)
                    } else {
                        due - chrono::Duration::days(3)
                    };
                    let paid = paid && paid_on < today;
                    let late_fee = if paid {
                        policy.late_fee(principal, due, &[], paid_on).accrued.0
                    } else {
                        0
                    };
                    let b = bill::ActiveModel {
                        community_id: Set(c.id),
                        unit_id: Set(u.id),
                        fee_item_id: Set(item.id),
                        period: Set(period.to_string()),
                        period_start: Set(period.start()),
                        period_end: Set(period.end()),
                        due_date: Set(due),
                        // Issued in time, three weeks before it fell due.
                        issued_on: Set(Some(due - chrono::Duration::days(21))),
                        principal_fen: Set(principal),
                        paid_principal_fen: Set(if paid { principal } else { 0 }),
                        late_fee_paid_fen: Set(late_fee),
                        late_fee_waived_fen: Set(0),
                        status: Set(if paid { "paid" } else { "unpaid" }.into()),
                        paid_at: Set(paid
                            .then(|| paid_on.and_hms_opt(2, 0, 0).map(|t| t.and_utc()))
                            .flatten()),
                        created_at: Set(now),
                        ..Default::default()
                    }
                    .insert(&txn)
                    .await?;
                    if paid {
                        entries.push(bill_entry::ActiveModel {
                            bill_id: Set(b.id),
                            kind: Set("payment".into()),
                            principal_fen: Set(principal),
                            late_fee_fen: Set(late_fee),
                            on_date: Set(paid_on),
                            reason: Set("演示数据：历史缴费".into()),
                            actor: Set("demo".into()),
                            reference: Set(None),
                            created_at: Set(now),
                            ..Default::default()
                        });
                    }
                }
                period = period.previous_month();
            }
        }
        for chunk in entries.chunks(500) {
            bill_entry::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
    }
    txn.commit().await?;
    Ok(true)
}

/// `round_half_up(unit_price × area, 2)` in fen for one month (API.md's principal formula).
fn price_fen(price: &str, area_centi: i64) -> i64 {
    let price: Decimal = price.parse().unwrap_or_default();
    Fen::from_yuan_rounded(price * Decimal::new(area_centi, 2))
        .map(|f| f.0)
        .unwrap_or(0)
}
