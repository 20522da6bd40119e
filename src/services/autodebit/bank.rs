//! Bank collection (银行托收): finance makes a batch of a community's bank debits due by a day —
//! each claimed once and given an order, as the debit pass does for gateways — downloads it as a
//! CSV for the bank (columns in README; banks' own formats vary, so no fixed-width guess) and
//! imports the bank's result file: all rows checked before any is applied (422 naming rows), each
//! success credited once through the order (a file imported twice credits nothing more), each
//! failure into the retry schedule like a gateway's.
use super::debits::{claim_tries, mandates_of, Checks, DebitReport};
use super::outcomes::{fail, settle_paid, skip_claimed};
use super::send::close_order;
use crate::domain::role::Action;
use crate::domain::states::Channel;
use crate::domain::Fen;
use crate::error::{ApiError, ApiResult, ImportRowError};
use crate::services::access::staff::StaffCtx;
use crate::services::payments::crediting::{self, Credit};
use crate::services::payments::orders;
use crate::services::setup::units::labels_of;
use crate::state::AppState;
use chrono::NaiveDate;
use entity::states::{DebitStatus, MandateChannel};
use entity::{autodebit_bank_batch as batch, autodebit_debit as debit, autodebit_mandate as mandate};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use utoipa::ToSchema;

/// The file's columns, in order.
pub const COLUMNS: [&str; 9] = [
    "debit_id",
    "contract_code",
    "bank_name",
    "account_no",
    "holder",
    "amount",
    "debit_date",
    "unit",
    "description",
];

/// `POST /staff/autodebit/bank-batches`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBatch {
    pub community_id: i32,
    /// The day the bank debits (`YYYY-MM-DD`, today or up to 31 days on): every bank debit due by
    /// then and not yet sent goes in.
    #[schema(pattern = r"^(19[7-9][0-9]|20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$", format = Date)]
    pub date: String,
}

/// A batch as staff see it (no personal data: the file has it).
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchView {
    pub id: i32,
    pub community_id: i32,
    pub debit_date: NaiveDate,
    pub rows: i32,
    /// Yuan.
    pub total: String,
    pub created_by: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultImport {
    pub rows: usize,
    /// Successes credited now.
    pub credited: usize,
    /// Failures entered into the retry schedule (or given up) now.
    pub failed: usize,
    /// Rows already settled the same way by an earlier import.
    pub unchanged: usize,
}

fn view(b: batch::Model) -> BatchView {
    BatchView {
        id: b.id,
        community_id: b.community_id,
        debit_date: b.debit_date,
        rows: b.rows,
        total: Fen(b.total_fen).to_yuan_string(),
        created_by: b.created_by,
        created_at: b.created_at,
    }
}

/// `POST /staff/autodebit/bank-batches`: claims the community's bank debits due by `date` (noticed,
/// or failed and due again), checks each as a gateway try is checked, and gives each an order.
pub async fn create(state: &AppState, ctx: &StaffCtx, body: NewBatch) -> ApiResult<BatchView> {
    ctx.require(Action::ManageBilling)?;
    crate::services::setup::community_in_scope(state, ctx, body.community_id).await?;
    let tz = state.community_tz(body.community_id).await?;
    let today = state.today_in(tz);
    let date = NaiveDate::parse_from_str(&body.date, "%Y-%m-%d")
        .ok()
        .filter(|d| *d >= today && *d <= today + chrono::Duration::days(31))
        .ok_or_else(|| ApiError::field("date", "托收日期应为今天起31天内的日期"))?;
    let banked = sea_orm::sea_query::Query::select()
        .column(mandate::Column::Id)
        .from(mandate::Entity)
        .and_where(mandate::Column::Channel.eq(MandateChannel::Bank))
        .to_owned();
    let due = debit::Entity::find()
        .filter(debit::Column::CommunityId.eq(body.community_id))
        .filter(debit::Column::MandateId.in_subquery(banked))
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(debit::Column::Status.eq(DebitStatus::Noticed))
                        .add(debit::Column::DebitOn.lte(date)),
                )
                .add(
                    Condition::all()
                        .add(debit::Column::Status.eq(DebitStatus::Failed))
                        .add(debit::Column::NextTryOn.lte(date)),
                ),
        )
        .order_by_asc(debit::Column::Id)
        .all(&state.db)
        .await?;
    if due.is_empty() {
        return Err(ApiError::field("date", "该日没有待托收的银行扣款"));
    }
    let now = state.clock.now();
    let b = batch::ActiveModel {
        community_id: Set(body.community_id),
        debit_date: Set(date),
        rows: Set(0),
        total_fen: Set(0),
        created_by: Set(format!("staff:{}", ctx.id)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    let (mut rows, mut total) = (0, 0);
    let mut skipped = DebitReport::default();
    for page in due.chunks(500) {
        let mandates = mandates_of(state, page).await?;
        let claimed = claim_tries(state, page, Some(b.id)).await?;
        let checks = Checks::load(state, &claimed).await?;
        let mut go = Vec::new();
        let mut wanted = Vec::new();
        for d in claimed {
            let Some(m) = mandates.get(&d.mandate_id) else {
                continue;
            };
            match checks.for_try(&d, m, today) {
                Err(why) => skip_claimed(state, d.id, why, &mut skipped).await?,
                Ok(priced) => {
                    wanted.push(orders::DebitOrder {
                        account_id: m.account_id,
                        channel: Channel::BankDebit,
                        priced,
                    });
                    go.push(d);
                }
            }
        }
        for (d, (order, _)) in go.into_iter().zip(orders::place_debits(state, wanted).await?) {
            debit::Entity::update_many()
                .col_expr(debit::Column::PaymentId, Expr::value(Some(order.id)))
                .filter(debit::Column::Id.eq(d.id))
                .exec(&state.db)
                .await?;
            rows += 1;
            total += order.amount_fen;
        }
    }
    let mut a: batch::ActiveModel = b.into();
    a.rows = Set(rows);
    a.total_fen = Set(total);
    let b = a.update(&state.db).await?;
    crate::services::audit::record(
        &state.db,
        &format!("staff:{}", ctx.id),
        "autodebit.bank_batch.create",
        "autodebit_bank_batch",
        b.id,
        serde_json::json!({"community_id": b.community_id, "debit_date": b.debit_date, "rows": rows, "total_fen": total}),
        now,
    )
    .await?;
    Ok(view(b))
}

/// A batch of the member's communities.
async fn visible(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<batch::Model> {
    ctx.require(Action::ManageBilling)?;
    batch::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|b| ctx.sees(b.community_id))
        .ok_or(ApiError::NotFound)
}

/// `GET /staff/autodebit/bank-batches/{id}/file`: the CSV for the bank (UTF-8 with BOM), with the
/// full account numbers and holders the bank needs; each download is audited. Its file name.
pub async fn file(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<(String, Vec<u8>)> {
    let b = visible(state, ctx, id).await?;
    let rows = debit::Entity::find()
        .filter(debit::Column::BatchId.eq(b.id))
        .filter(debit::Column::PaymentId.is_not_null())
        .order_by_asc(debit::Column::Id)
        .all(&state.db)
        .await?;
    let mut w = csv::Writer::from_writer("\u{feff}".as_bytes().to_vec());
    let bad = |e: csv::Error| ApiError::internal(anyhow::anyhow!(e));
    w.write_record(COLUMNS).map_err(bad)?;
    let open = |sealed: &Option<String>| match sealed {
        Some(s) => state.cipher.decrypt(s).map_err(ApiError::internal),
        None => Ok(String::new()),
    };
    // A page at a time: a batch may hold a whole community's debits.
    for page in rows.chunks(500) {
        let mandates = mandates_of(state, page).await?;
        let labels = labels_of(&state.db, page.iter().map(|d| d.unit_id)).await?;
        for d in page {
            let Some(m) = mandates.get(&d.mandate_id) else {
                continue;
            };
            let label = labels.get(&d.unit_id).cloned().unwrap_or_default();
            w.write_record([
                d.id.to_string(),
                m.contract_code.clone(),
                m.bank_name.clone().unwrap_or_default(),
                open(&m.account_no_enc)?,
                open(&m.holder_enc)?,
                Fen(d.amount_fen).to_yuan_string(),
                b.debit_date.to_string(),
                label.clone(),
                format!("物业费 {label}"),
            ])
            .map_err(bad)?;
        }
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e.to_string())))?;
    crate::services::audit::record(
        &state.db,
        &format!("staff:{}", ctx.id),
        "autodebit.bank_batch.download",
        "autodebit_bank_batch",
        b.id,
        serde_json::json!({"rows": rows.len()}),
        state.clock.now(),
    )
    .await?;
    Ok((format!("bank-debits-{}-{}.csv", b.debit_date, b.id), bytes))
}

/// One checked row of a result file.
struct Outcome {
    debit: debit::Model,
    success: bool,
    reason: String,
}

/// `POST /staff/autodebit/bank-batches/{id}/results`: the bank's result file, CSV with the header
/// `debit_id,result,reason` (`result`: `success` or `failed`; a failure needs its reason).
pub async fn import_results(state: &AppState, ctx: &StaffCtx, id: i32, body: &[u8]) -> ApiResult<ResultImport> {
    let b = visible(state, ctx, id).await?;
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::field("file", "结果文件应为UTF-8编码的CSV"))?
        .trim_start_matches('\u{feff}');
    let in_batch: HashMap<i32, debit::Model> = debit::Entity::find()
        .filter(debit::Column::BatchId.eq(b.id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|d| (d.id, d))
        .collect();
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let mut errors = Vec::new();
    let err = |row: usize, column: &str, message: &str| ImportRowError {
        row,
        column: column.into(),
        message: message.into(),
    };
    let header: Vec<String> = reader
        .headers()
        .map(|h| h.iter().map(|c| c.trim().to_string()).collect())
        .unwrap_or_default();
    if header
        .iter()
        .take(3)
        .map(String::as_str)
        .ne(["debit_id", "result", "reason"])
    {
        return Err(ApiError::ImportRejected(vec![err(
            1,
            "debit_id",
            "表头应为 debit_id,result,reason",
        )]));
    }
    let mut outcomes = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, rec) in reader.records().enumerate() {
        let row = i + 2;
        let Ok(rec) = rec else {
            errors.push(err(row, "debit_id", "无法读取该行"));
            continue;
        };
        let cell = |k: usize| rec.get(k).unwrap_or_default().trim().to_string();
        let Some(d) = cell(0).parse::<i32>().ok().and_then(|id| in_batch.get(&id)) else {
            errors.push(err(row, "debit_id", "不是本批次的扣款编号"));
            continue;
        };
        if !seen.insert(d.id) {
            errors.push(err(row, "debit_id", "同一扣款出现了两次"));
            continue;
        }
        let success = match cell(1).as_str() {
            "success" => true,
            "failed" => false,
            _ => {
                errors.push(err(row, "result", "结果应为success或failed"));
                continue;
            }
        };
        let reason = cell(2);
        if !success && reason.is_empty() {
            errors.push(err(row, "reason", "扣款失败需要写明原因"));
            continue;
        }
        // Already settled by an earlier import: the same result is a no-op, another is an error.
        let settled_success = d.status == DebitStatus::Paid;
        let settled_failure = d.status != DebitStatus::Debiting && !settled_success;
        if (settled_success && !success) || (settled_failure && success) {
            errors.push(err(row, "result", "与此前导入的结果不一致"));
            continue;
        }
        outcomes.push(Outcome {
            debit: d.clone(),
            success,
            reason,
        });
    }
    if !errors.is_empty() {
        return Err(ApiError::ImportRejected(errors));
    }
    let mut done = ResultImport {
        rows: outcomes.len(),
        credited: 0,
        failed: 0,
        unchanged: 0,
    };
    let mut report = DebitReport::default();
    for o in outcomes {
        let d = &o.debit;
        if d.status != DebitStatus::Debiting {
            done.unchanged += 1;
            continue;
        }
        let Some(payment_id) = d.payment_id else {
            done.unchanged += 1;
            continue;
        };
        let Some(m) = mandate::Entity::find_by_id(d.mandate_id).one(&state.db).await? else {
            continue;
        };
        if o.success {
            // A transaction id of its own per batch and debit: a second import finds the order paid.
            let tx = format!("BANK{}-{}", b.id, d.id);
            if crediting::credit(state, payment_id, &tx).await? == Credit::Credited {
                done.credited += 1;
            }
            settle_paid(state, d, &m).await?;
        } else {
            close_order(state, payment_id).await?;
            fail(state, d, &m, format!("银行扣款未成功（{}）", o.reason), &mut report).await?;
            done.failed += 1;
        }
    }
    crate::services::audit::record(
        &state.db,
        &format!("staff:{}", ctx.id),
        "autodebit.bank_batch.results",
        "autodebit_bank_batch",
        b.id,
        serde_json::json!({"rows": done.rows, "credited": done.credited, "failed": done.failed, "unchanged": done.unchanged}),
        state.clock.now(),
    )
    .await?;
    Ok(done)
}
