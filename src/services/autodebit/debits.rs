//! The debit pass, on the scheduler and safe on any number of replicas: every bill of a unit under
//! an active WeChat Pay or Alipay mandate is planned once (unique per mandate and bill), its owner
//! is told `notice_lead_days` before the due date (amount, date, how to stop it) — no notice
//! delivered, no debit — and on the due date it is debited between the window's hours through an
//! order credited like any payment. A failed try is told to the owner and tried again on the retry
//! days; after the last the bill is back with the ordinary reminders, and a mandate failing
//! `suspend_after_failed_cycles` cycles running is suspended and staff are told. Bank mandates are
//! planned and noticed the same way; their debits go out in the bank's batch files.
use super::outcomes::{fail, follow, skip_claimed, skip_planned};
use super::send::{close_order, send, Sent};
use crate::domain::debits::{notice_timing, NoticeTiming, Window};
use crate::domain::states::{BillStatus, Channel};
use crate::domain::suppression::{self, Effect, Facts};
use crate::domain::Fen;
use crate::error::{ApiError, ApiResult};
use crate::services::billing::bills;
use crate::services::collection::evidence::{self, NewEvidence};
use crate::services::collection::suppressed;
use crate::services::messaging::{self, Message, SpentFor};
use crate::services::payments::{crediting, orders};
use crate::services::setup::units::labels_of;
use crate::state::AppState;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::states::{DebitStatus, MandateChannel, MandateStatus};
use entity::{autodebit_debit as debit, autodebit_mandate as mandate, autodebit_mandate_unit as mandate_unit};
use entity::{bill, owner_account};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Template keys in `wechat.templates` / `sms.templates`.
pub const NOTICE: &str = "autodebit_notice";
pub const FAILED: &str = "autodebit_failed";
/// How far ahead bills are planned (a billing run issues them at least `min_notice_days` ahead).
const PLAN_DAYS: i64 = 62;
/// A notice claimed this long ago without a recorded result was not confirmed delivered.
pub(super) const NOTICE_LEASE_MINUTES: i64 = 10;
/// Rows per batch of each step.
pub(super) const BATCH: u64 = 500;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DebitReport {
    pub planned: u64,
    pub noticed: u64,
    pub skipped: u64,
    /// Debits sent to a gateway.
    pub tried: u64,
    pub paid: u64,
    pub failed: u64,
    pub given_up: u64,
    pub suspended: u64,
}

impl DebitReport {
    fn add(&mut self, o: DebitReport) {
        self.planned += o.planned;
        self.noticed += o.noticed;
        self.skipped += o.skipped;
        self.tried += o.tried;
        self.paid += o.paid;
        self.failed += o.failed;
        self.given_up += o.given_up;
        self.suspended += o.suspended;
    }
}

/// One pass: plan, settle tries whose orders have an outcome, send due notices, try due debits.
pub async fn tick(state: &AppState) -> ApiResult<DebitReport> {
    let s = &state.settings.autodebit;
    let window = Window::parse(&s.window).map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
    let mut r = DebitReport::default();
    plan(state, &mut r).await?;
    follow(state, &mut r).await?;
    notices(state, &window, &mut r).await?;
    tries(state, &window, &mut r).await?;
    Ok(r)
}

/// Each community's local date and time now.
struct Clocks {
    now: DateTime<Utc>,
    zones: HashMap<i32, chrono_tz::Tz>,
}

impl Clocks {
    async fn load(state: &AppState, communities: BTreeSet<i32>) -> ApiResult<Clocks> {
        let mut zones = HashMap::new();
        for c in communities {
            zones.insert(c, state.community_tz(c).await?);
        }
        Ok(Clocks {
            now: state.clock.now(),
            zones,
        })
    }

    fn local(&self, community: i32) -> chrono::NaiveDateTime {
        let tz = self.zones.get(&community).copied().unwrap_or(chrono_tz::Asia::Shanghai);
        self.now.with_timezone(&tz).naive_local()
    }

    fn today(&self, community: i32) -> NaiveDate {
        self.local(community).date()
    }
}

/// Plans every open bill due from today on (within `PLAN_DAYS`) of units under active mandates.
async fn plan(state: &AppState, r: &mut DebitReport) -> ApiResult<()> {
    // Active mandates by subquery: a list of ids would pass PostgreSQL's bind-parameter limit.
    let links = mandate_unit::Entity::find()
        .filter(mandate_unit::Column::LiveUnitId.is_not_null())
        .filter(mandate_unit::Column::MandateId.in_subquery(active_mandates()))
        .all(&state.db)
        .await?;
    if links.is_empty() {
        return Ok(());
    }
    let clocks = Clocks::load(state, links.iter().map(|l| l.community_id).collect()).await?;
    let by_unit: HashMap<i32, &mandate_unit::Model> = links.iter().map(|l| (l.unit_id, l)).collect();
    let earliest = links
        .iter()
        .map(|l| clocks.today(l.community_id))
        .min()
        .unwrap_or_else(|| clocks.now.date_naive());
    for chunk in links.chunks(BATCH as usize) {
        let bills = bill::Entity::find()
            .filter(bill::Column::UnitId.is_in(chunk.iter().map(|l| l.unit_id)))
            .filter(bill::Column::Status.eq(BillStatus::Unpaid))
            .filter(bill::Column::DueDate.gte(earliest))
            .filter(bill::Column::DueDate.lte(earliest + Duration::days(PLAN_DAYS + 1)))
            .all(&state.db)
            .await?;
        // Planned already under the unit's live mandate (an ended mandate's debits do not count).
        let planned: BTreeSet<(i32, i32)> = debit::Entity::find()
            .filter(debit::Column::BillId.is_in(bills.iter().map(|b| b.id)))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|d| (d.mandate_id, d.bill_id))
            .collect();
        let new: Vec<bill::Model> = bills
            .into_iter()
            .filter(|b| {
                by_unit
                    .get(&b.unit_id)
                    .is_some_and(|l| !planned.contains(&(l.mandate_id, b.id)))
            })
            .filter(|b| {
                let today = clocks.today(b.community_id);
                b.due_date >= today && b.due_date <= today + Duration::days(PLAN_DAYS)
            })
            .collect();
        if new.is_empty() {
            continue;
        }
        let rows: Vec<debit::ActiveModel> = bills::with_amounts(state, new)
            .await?
            .into_iter()
            .filter_map(|(b, _, a)| {
                let link = by_unit.get(&b.unit_id)?;
                Some(debit::ActiveModel {
                    mandate_id: Set(link.mandate_id),
                    bill_id: Set(b.id),
                    unit_id: Set(b.unit_id),
                    community_id: Set(b.community_id),
                    amount_fen: Set(a.due()),
                    debit_on: Set(b.due_date),
                    status: Set(DebitStatus::Scheduled),
                    attempts: Set(0),
                    created_at: Set(clocks.now),
                    updated_at: Set(clocks.now),
                    ..Default::default()
                })
            })
            .collect();
        for rows in rows.chunks(80) {
            r.planned += debit::Entity::insert_many(rows.iter().cloned())
                .on_conflict(
                    OnConflict::columns([debit::Column::MandateId, debit::Column::BillId])
                        .do_nothing()
                        .to_owned(),
                )
                .exec_without_returning(&state.db)
                .await?;
        }
    }
    Ok(())
}

/// `SELECT id FROM autodebit_mandates WHERE status = 'active'`.
pub(super) fn active_mandates() -> sea_orm::sea_query::SelectStatement {
    sea_orm::sea_query::Query::select()
        .column(mandate::Column::Id)
        .from(mandate::Entity)
        .and_where(mandate::Column::Status.eq(MandateStatus::Active))
        .to_owned()
}

/// Moves a debit from `from` to a new status (and reason), only if it is still in `from`: the
/// conditional update that lets one replica act on it. True when this call moved it.
pub(super) async fn move_debit(
    state: &AppState,
    id: i32,
    from: DebitStatus,
    to: DebitStatus,
    reason: Option<String>,
) -> ApiResult<bool> {
    let done = debit::Entity::update_many()
        .col_expr(debit::Column::Status, Expr::value(to))
        .col_expr(debit::Column::Reason, Expr::value(reason))
        .col_expr(debit::Column::UpdatedAt, Expr::value(state.clock.now()))
        .filter(debit::Column::Id.eq(id))
        .filter(debit::Column::Status.eq(from))
        .exec(&state.db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Whether a debit of this bill may run now.
pub(super) enum Check {
    /// It may: the bill priced as of today (what it owes: `.2.due()`).
    Go(Box<bills::Priced>),
    /// It may not, in the owner's words.
    Stop(String),
}

/// What the checks of a page of debits read together, in a handful of queries whatever the
/// page's size: their bills priced as of today and the holds, disputes and installment requests on
/// their units. A try's
/// checks are read after it is claimed, so it is checked on what holds when it is sent.
pub(super) struct Checks {
    bills: HashMap<i32, bills::Priced>,
    holds: Vec<suppression::Hold>,
    disputed: Vec<i32>,
    planned: Vec<i32>,
}

impl Checks {
    pub(super) async fn load(state: &AppState, rows: &[debit::Model]) -> ApiResult<Checks> {
        if rows.is_empty() {
            return Ok(Checks {
                bills: HashMap::new(),
                holds: Vec::new(),
                disputed: Vec::new(),
                planned: Vec::new(),
            });
        }
        let found = bill::Entity::find()
            .filter(bill::Column::Id.is_in(rows.iter().map(|d| d.bill_id)))
            .all(&state.db)
            .await?;
        let units: Vec<i32> = rows
            .iter()
            .map(|d| d.unit_id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        Ok(Checks {
            holds: suppressed::holds_on(&state.db, units.clone()).await?,
            disputed: suppressed::disputed_on(&state.db, units.clone()).await?,
            planned: suppressed::planned_on(&state.db, units).await?,
            bills: bills::with_amounts(state, found)
                .await?
                .into_iter()
                .map(|p| (p.0.id, p))
                .collect(),
        })
    }

    /// Checks a debit against its mandate (active), the bill (open, no clause stopping debits)
    /// and the owner's maximum.
    pub(super) fn of(&self, d: &debit::Model, m: Option<&mandate::Model>, today: NaiveDate) -> Check {
        if m.is_none_or(|m| m.status != MandateStatus::Active) {
            return Check::Stop("自动扣款协议已解除或暂停".into());
        }
        let Some(priced) = self.bills.get(&d.bill_id) else {
            return Check::Stop("账单不存在".into());
        };
        // Its own running debit is no reason not to debit.
        let facts = Facts {
            today,
            holds: &self.holds,
            disputed: &self.disputed,
            debiting: &[],
            planned: &self.planned,
            // Hardship relief does not stop debits (the clause does not declare them).
            relieved: &[],
        };
        let subject = suppression::Subject::Bill(suppressed::bill_of(&priced.0));
        match suppression::stopping(Effect::Debits, &subject, &facts) {
            Some("settled") => return Check::Stop("账单已缴清或已取消".into()),
            Some("dispute") => return Check::Stop("账单有异议正在核实，核实期间不扣款".into()),
            Some("plan") => return Check::Stop("账单的分期申请正在办理，办理期间不扣款".into()),
            Some(_) => return Check::Stop("物业已暂缓该账单的催缴，本期不扣款".into()),
            None => {}
        }
        let due = priced.2.due();
        if m.and_then(|m| m.max_fen).is_some_and(|max| due > max) {
            return Check::Stop(format!(
                "本期应缴{}元，超过您设定的单次扣款上限",
                Fen(due).to_yuan_string()
            ));
        }
        Check::Go(Box::new(priced.clone()))
    }

    /// Checks a claimed try: as `of`, and the bill must still owe what the notice said. The bill
    /// priced as of today, or why the try does not run.
    pub(super) fn for_try(
        &self,
        d: &debit::Model,
        m: &mandate::Model,
        today: NaiveDate,
    ) -> Result<bills::Priced, String> {
        match self.of(d, Some(m), today) {
            Check::Stop(why) => Err(why),
            Check::Go(priced) if priced.2.due() != d.amount_fen => Err(changed(priced.2.due(), d.amount_fen)),
            Check::Go(priced) => Ok(*priced),
        }
    }
}

/// Owner accounts by id.
async fn accounts_of(
    state: &AppState,
    ids: impl IntoIterator<Item = i32>,
) -> ApiResult<HashMap<i32, owner_account::Model>> {
    Ok(owner_account::Entity::find()
        .filter(owner_account::Column::Id.is_in(ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect())
}

/// Mandates by id.
pub(super) async fn mandates_of(state: &AppState, rows: &[debit::Model]) -> ApiResult<HashMap<i32, mandate::Model>> {
    Ok(mandate::Entity::find()
        .filter(mandate::Column::Id.is_in(rows.iter().map(|d| d.mandate_id)))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect())
}

/// Tells the mandate's owner something about a debit; the channel that carried it and what was
/// transmitted, or None when nothing was delivered.
pub(super) async fn tell(
    state: &AppState,
    m: &mandate::Model,
    msg: &Message,
) -> ApiResult<Option<(&'static str, String)>> {
    let accounts = accounts_of(state, [m.account_id]).await?;
    deliver(state, accounts.get(&m.account_id), msg).await
}

/// Tells an account (None: no account, nothing delivered).
async fn deliver(
    state: &AppState,
    account: Option<&owner_account::Model>,
    msg: &Message,
) -> ApiResult<Option<(&'static str, String)>> {
    let Some(a) = account else {
        return Ok(None);
    };
    let d = messaging::send_to(state, a, msg).await?;
    Ok(d.channel.map(|c| (c, d.transmitted.unwrap_or_default())))
}

/// Appends a debit event to the unit's evidence chain (its own transaction).
pub(super) async fn record(
    state: &AppState,
    unit_id: i32,
    channel: &str,
    content: String,
    result: &str,
) -> ApiResult<()> {
    let txn = crate::db::begin_write(&state.db).await?;
    record_in(&txn, state, unit_id, channel, content, result).await?;
    txn.commit().await?;
    Ok(())
}

/// Appends a debit event to the unit's evidence chain inside the caller's transaction.
async fn record_in(
    txn: &sea_orm::DatabaseTransaction,
    state: &AppState,
    unit_id: i32,
    channel: &str,
    content: String,
    result: &str,
) -> ApiResult<()> {
    evidence::append(
        txn,
        unit_id,
        state.clock.now(),
        NewEvidence {
            kind: "autodebit",
            stage: None,
            channel: channel.into(),
            content,
            result: result.into(),
        },
    )
    .await?;
    Ok(())
}

fn notice_message(d: &debit::Model, label: &str, due: i64) -> Message {
    let amount = Fen(due).to_yuan_string();
    let day = d.debit_on.format("%Y-%m-%d").to_string();
    let key = format!("autodebit:{}:notice", d.id);
    Message {
        purpose: NOTICE,
        wechat_fields: vec![
            ("thing1", format!("{label} 物业费自动扣款")),
            ("amount2", format!("{amount}元")),
            ("date3", day.clone()),
            ("thing4", "如需停止，请在小程序“自动扣款”中解除".into()),
        ],
        page: "pages/autodebit/index".into(),
        sms_params: vec![label.to_string(), amount, day],
        context: key.clone(),
        spent_for: SpentFor::Other(key),
    }
}

/// Runs `step` over the debits `find` lists, a page at a time in id order: each row is visited
/// once per pass, and a page's shared reads (clocks, mandates, checks) and claims are made once
/// for all its rows.
pub(super) async fn pages<F, Fut>(
    state: &AppState,
    find: impl Fn(i32) -> sea_orm::Select<debit::Entity>,
    mut step: F,
    r: &mut DebitReport,
) -> ApiResult<()>
where
    F: FnMut(Vec<debit::Model>) -> Fut,
    Fut: std::future::Future<Output = ApiResult<DebitReport>>,
{
    let mut after = 0;
    loop {
        let rows = find(after)
            .order_by_asc(debit::Column::Id)
            .limit(BATCH)
            .all(&state.db)
            .await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = last.id;
        let full = rows.len() as u64 == BATCH;
        r.add(step(rows).await?);
        if !full {
            break;
        }
    }
    Ok(())
}

/// Runs `one` over `rows`, `autodebit.concurrency` at once: the rows are independent (each was
/// claimed for this caller), and most of a row's time is a gateway's or SMS provider's answer.
async fn at_once<T, F, Fut>(state: &AppState, rows: Vec<T>, one: F) -> ApiResult<DebitReport>
where
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = ApiResult<DebitReport>>,
{
    use futures_util::stream::{self, StreamExt};
    let width = state.settings.autodebit.concurrency.max(1);
    let mut r = DebitReport::default();
    let mut done = stream::iter(rows).map(one).buffer_unordered(width);
    while let Some(d) = done.next().await {
        r.add(d?);
    }
    Ok(r)
}

/// Each community's clock, for the rows of a page.
async fn clocks_of(state: &AppState, rows: &[debit::Model]) -> ApiResult<Clocks> {
    Clocks::load(state, rows.iter().map(|d| d.community_id).collect()).await
}

/// Sends the notices due today, inside the window; a debit whose notice day has passed without
/// a delivered notice is skipped (the bill stays with the ordinary reminders).
async fn notices(state: &AppState, window: &Window, r: &mut DebitReport) -> ApiResult<()> {
    let lead = state.settings.autodebit.notice_lead_days;
    let now = state.clock.now();
    let find = |after: i32| {
        debit::Entity::find()
            .filter(debit::Column::Id.gt(after))
            .filter(debit::Column::Status.eq(DebitStatus::Scheduled))
            // Anywhere on earth, nothing further than `lead` days and one more is due.
            .filter(debit::Column::DebitOn.lte(now.date_naive() + Duration::days(lead + 1)))
    };
    pages(state, find, |rows| notice_page(state, *window, rows), r).await
}

/// One page of planned debits: those whose notice is due now are checked, claimed and noticed.
async fn notice_page(state: &AppState, window: Window, rows: Vec<debit::Model>) -> ApiResult<DebitReport> {
    let lead = state.settings.autodebit.notice_lead_days;
    let now = state.clock.now();
    let mut r = DebitReport::default();
    let clocks = clocks_of(state, &rows).await?;
    let mut due = Vec::new();
    for d in rows {
        let local = clocks.local(d.community_id);
        let why = match notice_timing(d.debit_on, lead, local.date()) {
            NoticeTiming::Early => continue,
            NoticeTiming::Missed => format!("未能在扣款日前{lead}天通知您，本期不自动扣款，请自行缴纳"),
            NoticeTiming::Due if !window.contains(local.time()) => continue,
            // Claimed by a pass that never recorded a result: not known to be delivered.
            NoticeTiming::Due => match d.noticed_at {
                None => {
                    due.push(d);
                    continue;
                }
                Some(at) if at < now - Duration::minutes(NOTICE_LEASE_MINUTES) => {
                    "未能确认扣款通知已送达，本期不自动扣款，请自行缴纳".into()
                }
                Some(_) => continue,
            },
        };
        skip_planned(state, d.id, why, &mut r).await?;
    }
    if due.is_empty() {
        return Ok(r);
    }
    let mandates = mandates_of(state, &due).await?;
    let checks = Checks::load(state, &due).await?;
    let mut go = Vec::new();
    for d in due {
        match checks.of(&d, mandates.get(&d.mandate_id), clocks.today(d.community_id)) {
            Check::Stop(why) => skip_planned(state, d.id, why, &mut r).await?,
            Check::Go(priced) => go.push((d, priced.2.due())),
        }
    }
    // Claimed by recording when the notice went out: one replica notices each debit.
    let claimed: BTreeSet<i32> = debit::Entity::update_many()
        .col_expr(debit::Column::NoticedAt, Expr::value(Some(now)))
        .filter(debit::Column::Id.is_in(go.iter().map(|(d, _)| d.id)))
        .filter(debit::Column::Status.eq(DebitStatus::Scheduled))
        .filter(debit::Column::NoticedAt.is_null())
        .exec_with_returning(&state.db)
        .await?
        .into_iter()
        .map(|d| d.id)
        .collect();
    go.retain(|(d, _)| claimed.contains(&d.id));
    let accounts = accounts_of(state, mandates.values().map(|m| m.account_id)).await?;
    let labels = labels_of(&state.db, go.iter().map(|(d, _)| d.unit_id)).await?;
    let (mandates, accounts, labels) = (&mandates, &accounts, &labels);
    let sent = at_once(state, go, |(d, due)| async move {
        let account = mandates.get(&d.mandate_id).and_then(|m| accounts.get(&m.account_id));
        let label = labels.get(&d.unit_id).cloned().unwrap_or_default();
        notice_one(state, account, d, &label, due).await
    })
    .await?;
    r.add(sent);
    Ok(r)
}

/// Tells the owner of one claimed debit; noticed (with the evidence), or skipped when nothing was
/// delivered.
async fn notice_one(
    state: &AppState,
    account: Option<&owner_account::Model>,
    d: debit::Model,
    label: &str,
    due: i64,
) -> ApiResult<DebitReport> {
    let mut r = DebitReport::default();
    let Some((channel, transmitted)) = deliver(state, account, &notice_message(&d, label, due)).await? else {
        let why = "扣款通知未能送达（未订阅消息且无法发送短信），本期不自动扣款，请自行缴纳";
        skip_planned(state, d.id, why.into(), &mut r).await?;
        return Ok(r);
    };
    let txn = crate::db::begin_write(&state.db).await?;
    debit::Entity::update_many()
        .col_expr(debit::Column::Status, Expr::value(DebitStatus::Noticed))
        .col_expr(debit::Column::AmountFen, Expr::value(due))
        .col_expr(debit::Column::NoticeChannel, Expr::value(Some(channel)))
        .col_expr(debit::Column::UpdatedAt, Expr::value(state.clock.now()))
        .filter(debit::Column::Id.eq(d.id))
        .exec(&txn)
        .await?;
    record_in(
        &txn,
        state,
        d.unit_id,
        channel,
        format!(
            "自动扣款预通知（{}元，{}扣款）\n{transmitted}",
            Fen(due).to_yuan_string(),
            d.debit_on
        ),
        "noticed",
    )
    .await?;
    txn.commit().await?;
    r.noticed += 1;
    Ok(r)
}

/// Debits what is due today (noticed, or failed and due again), inside the window. Each try is
/// claimed by moving the debit to `debiting`; the gateway is asked while the mandate's row is
/// locked, so a cancellation either comes first (no debit) or waits for the try to be sent.
async fn tries(state: &AppState, window: &Window, r: &mut DebitReport) -> ApiResult<()> {
    let now = state.clock.now();
    let find = |after: i32| {
        debit::Entity::find()
            .filter(debit::Column::Id.gt(after))
            .filter(debit::Column::Status.is_in([DebitStatus::Noticed, DebitStatus::Failed]))
            .filter(debit::Column::DebitOn.lte(now.date_naive() + Duration::days(1)))
    };
    pages(state, find, |rows| try_page(state, *window, rows), r).await
}

/// One page of noticed and failed debits: those due now are claimed, checked and sent.
async fn try_page(state: &AppState, window: Window, rows: Vec<debit::Model>) -> ApiResult<DebitReport> {
    let clocks = clocks_of(state, &rows).await?;
    let mandates = mandates_of(state, &rows).await?;
    let due: Vec<debit::Model> = rows
        .into_iter()
        .filter(|d| {
            let local = clocks.local(d.community_id);
            let day = match d.status {
                DebitStatus::Failed => d.next_try_on,
                _ => Some(d.debit_on),
            };
            day.is_some_and(|day| day <= local.date()) && window.contains(local.time())
        })
        // Bank debits go out in the bank's batch files.
        .filter(|d| {
            mandates
                .get(&d.mandate_id)
                .is_some_and(|m| m.channel != MandateChannel::Bank)
        })
        .collect();
    let claimed = claim_tries(state, &due, None).await?;
    let checks = Checks::load(state, &claimed).await?;
    let mut r = DebitReport::default();
    let mut go = Vec::new();
    let mut wanted = Vec::new();
    for d in claimed {
        let Some(m) = mandates.get(&d.mandate_id) else {
            continue;
        };
        match checks.for_try(&d, m, clocks.today(d.community_id)) {
            Err(why) => skip_claimed(state, d.id, why, &mut r).await?,
            Ok(priced) => {
                wanted.push(orders::DebitOrder {
                    account_id: m.account_id,
                    channel: match m.channel {
                        MandateChannel::Wechat => Channel::Wechat,
                        _ => Channel::Alipay,
                    },
                    priced,
                });
                go.push((d, m.clone()));
            }
        }
    }
    // The page's orders in one transaction, then each sent on its own.
    let placed = orders::place_debits(state, wanted).await?;
    let tries: Vec<_> = go.into_iter().zip(placed).collect();
    let sent = at_once(state, tries, |((d, m), (order, description))| {
        try_one(state, m, d, order, description)
    })
    .await?;
    r.add(sent);
    Ok(r)
}

/// One claimed, checked debit's try with its order: the gateway's answer, and what it does.
async fn try_one(
    state: &AppState,
    m: mandate::Model,
    d: debit::Model,
    order: entity::payment::Model,
    description: String,
) -> ApiResult<DebitReport> {
    let mut r = DebitReport {
        tried: 1,
        ..Default::default()
    };
    match send(state, m.id, d.id, &order, &description).await? {
        Sent::Accepted => {}
        Sent::Paid(transaction_id) => {
            crediting::credit(state, order.id, &transaction_id).await?;
        }
        Sent::Refused(why) => {
            close_order(state, order.id).await?;
            fail(state, &d, &m, why, &mut r).await?;
        }
        Sent::Ended => {
            close_order(state, order.id).await?;
            skip_claimed(state, d.id, "自动扣款协议已解除或暂停".into(), &mut r).await?;
        }
    }
    Ok(r)
}

/// Why a debit does not run when the bill now owes another amount than the notice said.
fn changed(due: i64, noticed: i64) -> String {
    format!(
        "应缴金额已变为{}元，与通知的{}元不同，本期不自动扣款",
        Fen(due).to_yuan_string(),
        Fen(noticed).to_yuan_string()
    )
}

/// Claims the next try of debits (noticed, or failed and due again) for this caller — by moving
/// each to `debiting` only if it is still as read, so one replica (or one bank batch) gets it —
/// and counts the try. The debits claimed, as claimed; the others went to another caller.
pub(super) async fn claim_tries(
    state: &AppState,
    rows: &[debit::Model],
    batch: Option<i32>,
) -> ApiResult<Vec<debit::Model>> {
    let mut claimed = Vec::new();
    for from in [DebitStatus::Noticed, DebitStatus::Failed] {
        let ids: Vec<i32> = rows.iter().filter(|d| d.status == from).map(|d| d.id).collect();
        if ids.is_empty() {
            continue;
        }
        let mut claim = debit::Entity::update_many()
            .col_expr(debit::Column::Status, Expr::value(DebitStatus::Debiting))
            .col_expr(debit::Column::Attempts, Expr::col(debit::Column::Attempts).add(1))
            .col_expr(debit::Column::UpdatedAt, Expr::value(state.clock.now()));
        if batch.is_some() {
            claim = claim.col_expr(debit::Column::BatchId, Expr::value(batch));
        }
        claimed.extend(
            claim
                .filter(debit::Column::Id.is_in(ids))
                .filter(debit::Column::Status.eq(from))
                .exec_with_returning(&state.db)
                .await?,
        );
    }
    claimed.sort_by_key(|d| d.id);
    Ok(claimed)
}

/// Ends the planned, noticed and failed debits of a mandate that ended (inside its transaction):
/// none of them runs afterwards.
pub(super) async fn end_pending<C: sea_orm::ConnectionTrait>(
    db: &C,
    mandate_id: i32,
    now: DateTime<Utc>,
) -> ApiResult<u64> {
    Ok(debit::Entity::update_many()
        .col_expr(debit::Column::Status, Expr::value(DebitStatus::Skipped))
        .col_expr(
            debit::Column::Reason,
            Expr::value(Some("自动扣款协议已解除".to_string())),
        )
        .col_expr(debit::Column::UpdatedAt, Expr::value(now))
        .filter(debit::Column::MandateId.eq(mandate_id))
        .filter(debit::Column::Status.is_in([DebitStatus::Scheduled, DebitStatus::Noticed, DebitStatus::Failed]))
        .exec(db)
        .await?
        .rows_affected)
}

/// The day a debit runs next: its retry day once a try failed, else its due date.
pub(super) fn next_day(d: &debit::Model) -> NaiveDate {
    d.next_try_on
        .filter(|_| d.status == DebitStatus::Failed)
        .unwrap_or(d.debit_on)
}

/// The next debit of each mandate (date, amount), for the owner's view.
pub(super) async fn next_of(state: &AppState, mandate_ids: &[i32]) -> ApiResult<BTreeMap<i32, (NaiveDate, i64)>> {
    let rows = debit::Entity::find()
        .filter(debit::Column::MandateId.is_in(mandate_ids.iter().copied()))
        .filter(debit::Column::Status.is_in([DebitStatus::Scheduled, DebitStatus::Noticed, DebitStatus::Failed]))
        .all(&state.db)
        .await?;
    let mut out: BTreeMap<i32, (NaiveDate, i64)> = BTreeMap::new();
    for d in rows {
        let day = next_day(&d);
        let e = out.entry(d.mandate_id).or_insert((day, d.amount_fen));
        if day < e.0 {
            *e = (day, d.amount_fen);
        }
    }
    Ok(out)
}
