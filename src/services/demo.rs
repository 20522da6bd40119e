//! `serve --demo`: seeds a small property company into an empty database so the API can be tried
//! at once. Deterministic, so every demo start looks the same.
use crate::domain::late_fee::LateFeePolicy;
use crate::domain::period::Period;
use crate::domain::states::{Channel, PaymentStatus};
use crate::domain::Fen;
use crate::error::{ApiError, ApiResult};
use crate::services::billing::ledger::{self, Ledger, NewBill};
use crate::state::AppState;
use entity::{bill, community, fee_item, owner, unit, unit_owner};
use rust_decimal::Decimal;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};

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
    /// The late-fee cap as a share of principal (锦绣家园's contract caps it at 20 %).
    cap: &'static str,
}

/// One seeded bill waiting for its payment record.
struct Paid {
    bill: bill::Model,
    late_fee: i64,
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
            cap: "1.00",
        },
        Spec {
            code: "JXJY",
            name: "锦绣家园",
            buildings: &["1", "2", "3"],
            price: "1.80",
            cap: "0.20",
        },
    ];
    let now = state.clock.now();
    let today = state.today();
    let mut rng = Lcg(20261127);
    let mut phone_no = 0u32;
    let admin = entity::staff_user::Entity::find()
        .filter(entity::staff_user::Column::Username.eq("admin"))
        .one(&state.db)
        .await?
        .map(|u| u.id);
    let mut ledger = Ledger::begin(state).await?;
    for spec in &specs {
        let policy = LateFeePolicy::parse("0.0005", 15, spec.cap)
            .map_err(|_| ApiError::internal(anyhow::anyhow!("demo policy")))?;
        let c = community::ActiveModel {
            code: Set(spec.code.into()),
            name: Set(spec.name.into()),
            timezone: Set(state.settings.app.timezone.clone()),
            late_fee_daily_rate: Set("0.0005".into()),
            late_fee_grace_days: Set(15),
            late_fee_cap_ratio: Set(spec.cap.into()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(ledger.txn())
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
        .insert(ledger.txn())
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
                        .insert(ledger.txn())
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
        .insert(ledger.txn())
        .await?;

        let mut migrated_done = false;
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
            .insert(ledger.txn())
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
            .insert(ledger.txn())
            .await?;
            // Payment habit: most pay, some are late, a few have stopped paying.
            let habit = rng.next(100);
            let mut period = Period::month_of(today);
            for age in 0..6 {
                let mut items = vec![(&property, price_fen(spec.price, u.area_centi_m2))];
                if parking_units.contains(&u.id) {
                    items.push((&parking, 15_000));
                }
                let due = period.due_date(15);
                let paid = due < today
                    && match habit {
                        0..=69 => true,
                        70..=89 => age >= 2,
                        _ => false,
                    };
                // Punctual payers pay a few days before the due date; late payers 20 days after it,
                // with the late fee that had accrued by then.
                let paid_on = if (70..=89).contains(&habit) {
                    due + chrono::Duration::days(20)
                } else {
                    due - chrono::Duration::days(3)
                };
                let paid = paid && paid_on < today;
                let mut month = Vec::new();
                for (item, principal) in items {
                    let late_fee = if paid {
                        policy.late_fee(principal, due, &[], paid_on).accrued.0
                    } else {
                        0
                    };
                    let b = demo_bill(&mut ledger, c.id, u.id, item.id, period, due, principal, now).await?;
                    month.push(Paid { bill: b, late_fee });
                }
                if paid {
                    let method = match rng.next(20) {
                        0..=11 => Channel::Wechat,
                        12..=14 => Channel::Alipay,
                        15..=17 => Channel::Cash,
                        _ => Channel::Pos,
                    };
                    pay_demo(&mut ledger, &c, u, &month, method, paid_on, admin).await?;
                }
                period = period.previous_month();
            }
            // Migrated opening arrears (issued by the earlier system, `issued_on`): one habitual
            // debtor per community has an old debt — near its three-year limitation in 翠湖花园, at
            // the late-fee cap in 锦绣家园.
            if habit >= 90 && !migrated_done {
                migrated_done = true;
                let months_back = if spec.cap == "1.00" { 34 } else { 14 };
                let old = (0..months_back).fold(Period::month_of(today), |p, _| p.previous_month());
                let due = old.due_date(15);
                demo_bill(
                    &mut ledger,
                    c.id,
                    u.id,
                    property.id,
                    old,
                    due,
                    price_fen(spec.price, u.area_centi_m2),
                    now,
                )
                .await?;
                crate::services::audit::record(
                    ledger.txn(),
                    "demo",
                    "billing_run.issued_on",
                    "community",
                    c.id,
                    serde_json::json!({"period": old.to_string(), "issued_on": due - chrono::Duration::days(21), "unit_id": u.id,
                        "note": "演示数据：从原系统迁入的历史欠费"}),
                    now,
                )
                .await?;
            }
        }
    }
    ledger.commit(state).await?;
    Ok(true)
}

/// An unpaid bill of the demo, issued in time (three weeks before it fell due).
#[allow(clippy::too_many_arguments)] // one row's columns
async fn demo_bill(
    ledger: &mut Ledger,
    community_id: i32,
    unit_id: i32,
    fee_item_id: i32,
    period: Period,
    due: chrono::NaiveDate,
    principal: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<bill::Model> {
    ledger
        .issue_one(NewBill {
            community_id,
            unit_id,
            fee_item_id,
            period,
            due_date: due,
            nominal_due_date: None,
            issued_on: Some(due - chrono::Duration::days(21)),
            principal_fen: principal,
            created_at: now,
        })
        .await
}

/// A month's bills of a unit paid on `paid_on` through `method`: the payment record with its lines
/// and receipt, the bills settled, their ledger entries, and the unit's evidence — what the real
/// crediting path leaves behind.
#[allow(clippy::too_many_arguments)] // one payment's facts
async fn pay_demo(
    ledger: &mut Ledger,
    c: &community::Model,
    u: &unit::Model,
    month: &[Paid],
    method: Channel,
    paid_on: chrono::NaiveDate,
    admin: Option<i32>,
) -> ApiResult<()> {
    use entity::{payment, payment_line};
    let at = paid_on
        .and_hms_opt(2, 30, 0)
        .map(|t| t.and_utc())
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("demo time")))?;
    let amount = crate::domain::money::sum_fen(month.iter().map(|p| p.bill.principal_fen + p.late_fee))?;
    let counter = matches!(method, Channel::Cash | Channel::Pos);
    let p = payment::ActiveModel {
        out_trade_no: Set(format!("WYDEMO{}{:05}", paid_on.format("%Y%m%d"), month[0].bill.id)),
        community_id: Set(c.id),
        account_id: Set(None),
        staff_id: Set(if counter { admin } else { None }),
        channel: Set(method),
        kind: Set("bills".into()),
        amount_fen: Set(amount),
        refunded_fen: Set(0),
        status: Set(PaymentStatus::Paid),
        reference: Set(counter.then(|| format!("演示收据{}", month[0].bill.id))),
        expires_at: Set(at + chrono::Duration::minutes(15)),
        paid_at: Set(Some(at)),
        created_at: Set(at),
        ..Default::default()
    }
    .insert(ledger.txn())
    .await?;
    let transaction_id = match method {
        Channel::Wechat => format!("42000{}{:08}", paid_on.format("%Y%m%d"), p.id),
        Channel::Alipay => format!("{}22001{:08}", paid_on.format("%Y%m%d"), p.id),
        _ => format!("counter-{}", p.id),
    };
    let mut am: payment::ActiveModel = p.clone().into();
    am.transaction_id = Set(Some(transaction_id.clone()));
    am.receipt_no = Set(Some(format!("R{}{:08}", paid_on.format("%Y%m%d"), p.id)));
    am.update(ledger.txn()).await?;
    let actor = format!("payment:{}", p.id);
    let mut periods = Vec::new();
    for paid in month {
        let b = &paid.bill;
        let line_amount = b.principal_fen + paid.late_fee;
        payment_line::ActiveModel {
            payment_id: Set(p.id),
            bill_id: Set(Some(b.id)),
            unit_id: Set(b.unit_id),
            fee_item_id: Set(b.fee_item_id),
            period: Set(b.period.clone()),
            principal_fen: Set(b.principal_fen),
            late_fee_fen: Set(paid.late_fee),
            discount_fen: Set(0),
            amount_fen: Set(line_amount),
            credited_fen: Set(Some(line_amount)),
            ..Default::default()
        }
        .insert(ledger.txn())
        .await?;
        let paid = ledger::Payment {
            principal_fen: b.principal_fen,
            late_fee_fen: paid.late_fee,
            discount_fen: 0,
            on: paid_on,
            at,
            reason: format!("{}缴费", crate::domain::states::channel_name(method)),
            actor: &actor,
            reference: Some(transaction_id.clone()),
        };
        ledger.credit(b.id, &paid).await?;
        periods.push(format!("{} {}", b.period, Fen(line_amount).to_yuan_string()));
    }
    let rec = crate::services::collection::evidence::NewEvidence {
        kind: "payment",
        stage: None,
        channel: method.to_string(),
        content: serde_json::json!({"payment_id": p.id, "out_trade_no": p.out_trade_no,
            "transaction_id": transaction_id, "bills": periods})
        .to_string(),
        result: "credited".into(),
    };
    crate::services::collection::evidence::append(ledger.txn(), u.id, at, rec).await?;
    Ok(())
}

/// `round_half_up(unit_price × area, 2)` in fen for one month (API.md's principal formula).
fn price_fen(price: &str, area_centi: i64) -> i64 {
    let price: Decimal = price.parse().unwrap_or_default();
    Fen::from_yuan_rounded(price * Decimal::new(area_centi, 2))
        .map(|f| f.0)
        .unwrap_or(0)
}
