//! Mandates: an owner authorises debits for chosen units through WeChat Pay (a contract signed in
//! WeChat Pay's own page), Alipay (an agreement signed by scanning a QR) or a bank account (active
//! once given). A unit has one live mandate at most; cancelling ends it at once here and at the
//! gateway (retried until the gateway confirms, `terminations`). Every signature and ending is on
//! the units' evidence chains: a court may ask whether the owner agreed to be debited.
use crate::domain::role::Action;
use crate::domain::{text, Fen};
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::gateways::events::MandateState;
use crate::gateways::wechatpay::PreSign;
use crate::services::access::me;
use crate::services::access::staff::StaffCtx;
use crate::services::collection::evidence::{self, NewEvidence};
use crate::services::payments::notifications::{record_mandate, MandateNotification, NotifyAnswer};
use crate::services::setup::communities::Features;
use crate::services::setup::units::{label, labels_of};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::states::{DebitStatus, MandateChannel, MandateStatus};
use entity::{
    autodebit_debit as debit, autodebit_mandate as mandate, autodebit_mandate_unit as mandate_unit, community,
    owner_account, unit,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, SqlErr,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use utoipa::ToSchema;

/// Units one mandate may debit.
const MAX_UNITS: usize = 20;

/// `POST /me/autodebit`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMandate {
    /// `wechat`, `alipay` or `bank`.
    #[schema(pattern = r"^(wechat|alipay|bank)$")]
    pub channel: String,
    /// The owner's units to debit (1–20).
    #[schema(min_items = 1, max_items = 20)]
    pub unit_ids: Vec<i32>,
    /// The most one debit may take, in yuan (e.g. `"500.00"`); a bill above it is not debited.
    #[schema(pattern = r"^(10000000(\.0{1,2})?|[1-9][0-9]{0,6}(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))$")]
    pub max_amount: Option<String>,
    /// Required for `bank`, refused otherwise.
    pub bank: Option<BankAccount>,
}

/// A bank account to debit (银行托收).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BankAccount {
    #[schema(
        min_length = 1,
        max_length = 40,
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#
    )]
    pub bank_name: String,
    /// Digits only (spaces are ignored), 8–30 of them.
    #[schema(min_length = 8, max_length = 40, pattern = r"^ *([0-9] *){8,30}$")]
    pub account_no: String,
    #[schema(
        min_length = 1,
        max_length = 40,
        pattern = r#"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"#
    )]
    pub holder: String,
}

/// A unit a mandate debits.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MandateUnit {
    pub id: i32,
    pub community_id: i32,
    /// Building and unit code.
    pub label: String,
}

/// What the owner does next to sign at the gateway (pending mandates, in the answer to `POST`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SignStep {
    /// WeChat Pay: open its signing mini-program with these (`wx.navigateToMiniProgram`).
    pub wechat: Option<PreSign>,
    /// Alipay: the signing page, shown as a QR code to scan with Alipay.
    pub alipay_sign_url: Option<String>,
}

/// A mandate as its owner (or staff) sees it; bank details masked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MandateView {
    pub id: i32,
    pub channel: String,
    /// `pending` (waiting for the owner's signature at the gateway), `active`, `suspended`
    /// (debits failed three cycles running) or `terminated`.
    pub status: String,
    pub units: Vec<MandateUnit>,
    /// The most one debit may take (yuan), if set.
    pub max_amount: Option<String>,
    /// Bank mandates: the bank and the masked account, e.g. `工商银行 **** 1234`.
    pub account: Option<String>,
    pub created_at: DateTime<Utc>,
    pub signed_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// `owner`, `gateway` (ended in WeChat or Alipay), `staff` or `replaced` (a newer request for
    /// the same units before this one was signed).
    pub ended_by: Option<String>,
    /// The next debit planned (date and amount), while there is one.
    pub next_debit: Option<NextDebit>,
    /// The debits the owner was told of, newest first (at most 24): what happened to each.
    pub history: Vec<PastDebit>,
    /// Only in the answer to `POST` for a mandate still to be signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign: Option<SignStep>,
}

/// A planned debit as the owner sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NextDebit {
    /// Community local date.
    pub date: chrono::NaiveDate,
    /// Yuan, e.g. `"223.75"`.
    pub amount: String,
}

/// A debit the owner was told of, and what became of it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PastDebit {
    pub bill_id: i32,
    /// The bill's due date, the day it was (to be) debited (community local date).
    pub date: chrono::NaiveDate,
    /// Yuan, as the notice said.
    pub amount: String,
    /// `noticed`, `debiting`, `paid`, `failed` (to be tried again), `given_up` or `skipped`.
    pub status: String,
    /// The status in the owner's words.
    pub status_label: String,
    /// Why it did not go through, as the owner was told.
    pub reason: Option<String>,
    /// Tries so far.
    pub attempts: i32,
}

/// A debit's status in the owner's words.
pub fn debit_label(s: DebitStatus) -> &'static str {
    match s {
        DebitStatus::Scheduled => "待通知",
        DebitStatus::Noticed => "已通知，将于扣款日扣款",
        DebitStatus::Debiting => "扣款中",
        DebitStatus::Paid => "已扣款",
        DebitStatus::Failed => "未成功，将再次扣款",
        DebitStatus::GivenUp => "未成功，本期请自行缴纳",
        DebitStatus::Skipped => "本期未自动扣款",
    }
}

/// Each mandate's debits the owner was told of (planned ones not yet noticed are left out), newest
/// first, at most 24 each.
async fn history_of(state: &AppState, mandate_ids: &[i32]) -> ApiResult<BTreeMap<i32, Vec<PastDebit>>> {
    let rows = debit::Entity::find()
        .filter(debit::Column::MandateId.is_in(mandate_ids.iter().copied()))
        .filter(debit::Column::Status.ne(DebitStatus::Scheduled))
        .order_by_desc(debit::Column::DebitOn)
        .order_by_desc(debit::Column::Id)
        .all(&state.db)
        .await?;
    let mut out: BTreeMap<i32, Vec<PastDebit>> = BTreeMap::new();
    for d in rows {
        let list = out.entry(d.mandate_id).or_default();
        if list.len() < 24 {
            list.push(PastDebit {
                bill_id: d.bill_id,
                date: d.debit_on,
                amount: Fen(d.amount_fen).to_yuan_string(),
                status: d.status.as_str().into(),
                status_label: debit_label(d.status).into(),
                reason: d.reason,
                attempts: d.attempts,
            });
        }
    }
    Ok(out)
}

/// How a channel is named to people.
pub fn channel_name(c: MandateChannel) -> &'static str {
    match c {
        MandateChannel::Wechat => "微信支付",
        MandateChannel::Alipay => "支付宝",
        MandateChannel::Bank => "银行托收",
    }
}

/// The name of a channel given by its stored spelling (`wechat`, `alipay`, `bank`), or `—`.
pub fn channel_label(stored: &str) -> &'static str {
    crate::domain::states::parse::<MandateChannel>(stored).map_or("—", channel_name)
}

/// `**** 1234`.
fn masked(last4: &str) -> String {
    format!("**** {last4}")
}

/// A checked request.
struct Request {
    channel: MandateChannel,
    units: BTreeSet<i32>,
    max_fen: Option<i64>,
    bank: Option<(String, String, String)>,
}

fn parse(body: NewMandate) -> ApiResult<Request> {
    let mut errors = FieldErrors::new();
    let channel = match body.channel.as_str() {
        "wechat" => Some(MandateChannel::Wechat),
        "alipay" => Some(MandateChannel::Alipay),
        "bank" => Some(MandateChannel::Bank),
        _ => {
            errors.insert("channel".into(), "扣款方式应为wechat、alipay或bank".into());
            None
        }
    };
    let units: BTreeSet<i32> = body.unit_ids.iter().copied().collect();
    if units.is_empty() || body.unit_ids.len() > MAX_UNITS || units.len() != body.unit_ids.len() {
        errors.insert("unit_ids".into(), format!("请选择1到{MAX_UNITS}套房屋，且不要重复"));
    }
    let max_fen = match body.max_amount.as_deref().map(Fen::parse) {
        None => None,
        Some(Ok(f)) if f.0 > 0 => Some(f.0),
        Some(_) => {
            errors.insert("max_amount".into(), "单次扣款上限应为大于0的金额，如500.00".into());
            None
        }
    };
    let bank = match (channel, body.bank) {
        (Some(MandateChannel::Bank), Some(b)) => {
            let account: String = b.account_no.chars().filter(|c| *c != ' ').collect();
            let name = text::name(&b.bank_name, 40)
                .map_err(|m| errors.insert("bank.bank_name".into(), format!("开户银行{m}")))
                .unwrap_or_default();
            if !(8..=30).contains(&account.len()) || !account.chars().all(|c| c.is_ascii_digit()) {
                errors.insert("bank.account_no".into(), "银行账号应为8到30位数字".into());
            }
            let holder = text::name(&b.holder, 40)
                .map_err(|m| errors.insert("bank.holder".into(), format!("户名{m}")))
                .unwrap_or_default();
            Some((name, account, holder))
        }
        (Some(MandateChannel::Bank), None) => {
            errors.insert("bank".into(), "银行托收需要填写开户银行、账号和户名".into());
            None
        }
        (_, Some(_)) => {
            errors.insert("bank".into(), "只有银行托收需要填写银行账户".into());
            None
        }
        (_, None) => None,
    };
    ApiError::check(errors)?;
    let channel = channel.ok_or_else(|| ApiError::field("channel", "扣款方式无效"))?;
    Ok(Request {
        channel,
        units,
        max_fen,
        bank,
    })
}

/// A contract code of ours: `AD` + Beijing date-time + 12 random characters (≤ 32, letters and
/// digits, as both gateways require).
fn contract_code(now: DateTime<Utc>) -> ApiResult<String> {
    let suffix: String = crate::crypto::new_token()
        .map_err(ApiError::internal)?
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect();
    Ok(format!(
        "AD{}{}",
        now.with_timezone(&chrono_tz::Asia::Shanghai).format("%Y%m%d%H%M%S"),
        suffix.to_uppercase()
    ))
}

/// The owner's units among `ids` with their communities, or 422 naming what is not theirs; 409
/// where a community has auto-debit switched off.
async fn owners_units(state: &AppState, account_id: i32, ids: &BTreeSet<i32>) -> ApiResult<Vec<unit::Model>> {
    let account = owner_account::Entity::find_by_id(account_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let reach = me::unit_ids_of_account(state, &account).await?;
    if !ids.is_subset(&reach) {
        return Err(ApiError::field("unit_ids", "只能为您名下的房屋开通自动扣款"));
    }
    let units = unit::Entity::find()
        .filter(unit::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(unit::Column::Id)
        .all(&state.db)
        .await?;
    let communities = community::Entity::find()
        .filter(community::Column::Id.is_in(units.iter().map(|u| u.community_id)))
        .all(&state.db)
        .await?;
    if communities.iter().any(|c| !Features::of(c).autodebit) {
        return Err(ApiError::Conflict("AUTODEBIT_OFF", "该小区暂未开通自动扣款".into()));
    }
    Ok(units)
}

fn taken() -> ApiError {
    ApiError::Conflict("MANDATE_EXISTS", "所选房屋已有自动扣款协议，请先解除原协议".into())
}

/// `POST /me/autodebit`: checks the request, opens the gateway's signing step (WeChat pre-sign,
/// Alipay's page), then records the mandate — pending until the gateway says it is signed; a bank
/// mandate is active at once. A still-pending mandate of the same owner for any of these units is
/// replaced; any other live one is 409.
pub async fn create(state: &AppState, account_id: i32, body: NewMandate) -> ApiResult<MandateView> {
    let req = parse(body)?;
    let units = owners_units(state, account_id, &req.units).await?;
    let replaced = replaceable(state, account_id, &req.units).await?;
    let now = state.clock.now();
    let code = contract_code(now)?;
    let labels: Vec<String> = units.iter().map(label).collect();
    let sign = match req.channel {
        MandateChannel::Wechat => {
            let wx = state
                .wechatpay
                .as_ref()
                .filter(|w| w.papay_ready())
                .ok_or_else(|| ApiError::Unavailable("wechat auto-debit".into()))?;
            let display: String = labels.join("、").chars().take(32).collect();
            let pre = wx.presign(&code, &display).await.map_err(|e| {
                tracing::warn!(error = %e, "wechat pay pre-sign failed");
                ApiError::Unavailable("wechat auto-debit".into())
            })?;
            Some(SignStep {
                wechat: Some(pre),
                alipay_sign_url: None,
            })
        }
        MandateChannel::Alipay => {
            let ali = state
                .alipay
                .as_ref()
                .ok_or_else(|| ApiError::Unavailable("alipay auto-debit".into()))?;
            let url = ali.agreement_sign_url(&code).map_err(ApiError::internal)?;
            Some(SignStep {
                wechat: None,
                alipay_sign_url: Some(url),
            })
        }
        MandateChannel::Bank => None,
    };
    let bank = match &req.bank {
        Some((name, account, holder)) => Some((
            name.clone(),
            state.cipher.encrypt(account).map_err(ApiError::internal)?,
            state.cipher.blind_index(account),
            account[account.len().saturating_sub(4)..].to_string(),
            state.cipher.encrypt(holder).map_err(ApiError::internal)?,
        )),
        None => None,
    };
    let active = req.channel == MandateChannel::Bank;
    let txn = crate::db::begin_write(&state.db).await?;
    for old in &replaced {
        end_in(&txn, *old, "replaced", "同一房屋有了新的签约请求", now).await?;
    }
    let m = mandate::ActiveModel {
        account_id: Set(account_id),
        channel: Set(req.channel),
        status: Set(if active {
            MandateStatus::Active
        } else {
            MandateStatus::Pending
        }),
        contract_code: Set(code),
        gateway_contract_id: Set(None),
        bank_name: Set(bank.as_ref().map(|b| b.0.clone())),
        account_no_enc: Set(bank.as_ref().map(|b| b.1.clone())),
        account_no_index: Set(bank.as_ref().map(|b| b.2.clone())),
        account_last4: Set(bank.as_ref().map(|b| b.3.clone())),
        holder_enc: Set(bank.as_ref().map(|b| b.4.clone())),
        max_fen: Set(req.max_fen),
        failed_cycles: Set(0),
        created_at: Set(now),
        signed_at: Set(active.then_some(now)),
        ended_at: Set(None),
        ended_by: Set(None),
        end_reason: Set(None),
        // Nothing at a gateway to end until one signs.
        gateway_ended_at: Set(None),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    for u in &units {
        let row = mandate_unit::ActiveModel {
            mandate_id: Set(m.id),
            unit_id: Set(u.id),
            community_id: Set(u.community_id),
            live_unit_id: Set(Some(u.id)),
            ..Default::default()
        };
        // The unique live index decides a race between two requests for one unit.
        if let Err(e) = row.insert(&txn).await {
            return Err(match e.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => taken(),
                _ => e.into(),
            });
        }
        if active {
            evidence::append(&txn, u.id, now, signed_evidence(&m)).await?;
        }
    }
    txn.commit().await?;
    let mut view = views(state, vec![m]).await?.pop().ok_or(ApiError::NotFound)?;
    view.sign = sign;
    Ok(view)
}

/// The owner's pending mandates on these units (replaced by a new request); 409 if any of the
/// units has a live mandate that is signed or someone else's.
async fn replaceable(state: &AppState, account_id: i32, units: &BTreeSet<i32>) -> ApiResult<Vec<i32>> {
    let live: BTreeSet<i32> = mandate_unit::Entity::find()
        .filter(mandate_unit::Column::LiveUnitId.is_in(units.iter().copied()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|l| l.mandate_id)
        .collect();
    if live.is_empty() {
        return Ok(Vec::new());
    }
    let mandates = mandate::Entity::find()
        .filter(mandate::Column::Id.is_in(live))
        .all(&state.db)
        .await?;
    if mandates
        .iter()
        .any(|m| m.status != MandateStatus::Pending || m.account_id != account_id)
    {
        return Err(taken());
    }
    Ok(mandates.into_iter().map(|m| m.id).collect())
}

fn signed_evidence(m: &mandate::Model) -> NewEvidence {
    let limit = m
        .max_fen
        .map(|f| format!("，单次扣款上限{}元", Fen(f).to_yuan_string()))
        .unwrap_or_default();
    let how = match (m.channel, &m.account_last4) {
        (MandateChannel::Bank, Some(last4)) => format!(
            "银行托收（{} {}）",
            m.bank_name.clone().unwrap_or_default(),
            masked(last4)
        ),
        (c, _) => format!(
            "{}（协议号 {}）",
            channel_name(c),
            m.gateway_contract_id.clone().unwrap_or_else(|| m.contract_code.clone())
        ),
    };
    NewEvidence {
        kind: "autodebit",
        stage: None,
        channel: m.channel.as_str().into(),
        content: format!("业主授权自动扣款：{how}，签约编号 {}{limit}", m.contract_code),
        result: "signed".into(),
    }
}

/// Ends a live mandate inside `txn`: terminated, its units free, evidence on each. Whether the
/// gateway still has to be told is left to the caller (`gateway_ended_at`).
async fn end_in(
    txn: &DatabaseTransaction,
    mandate_id: i32,
    by: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> ApiResult<Option<mandate::Model>> {
    let Some(m) = mandate::Entity::find_by_id(mandate_id)
        .lock_exclusive()
        .one(txn)
        .await?
    else {
        return Ok(None);
    };
    if m.status == MandateStatus::Terminated {
        return Ok(None);
    }
    // A mandate nobody signed at a gateway (or a bank one) leaves nothing to end there.
    let gateway_done = m.gateway_contract_id.is_none() || m.channel == MandateChannel::Bank;
    let mut a: mandate::ActiveModel = m.clone().into();
    a.status = Set(MandateStatus::Terminated);
    a.ended_at = Set(Some(now));
    a.ended_by = Set(Some(by.into()));
    a.end_reason = Set(Some(reason.into()));
    if gateway_done {
        a.gateway_ended_at = Set(Some(now));
    }
    a.updated_at = Set(now);
    let m = a.update(txn).await?;
    super::debits::end_pending(txn, m.id, now).await?;
    let units = free_units(txn, m.id).await?;
    let who = match by {
        "owner" => "业主解除",
        "gateway" => "业主在支付渠道解除",
        "staff" => "物业工作人员解除",
        _ => "新的签约请求取代了未完成的",
    };
    for u in units {
        evidence::append(
            txn,
            u,
            now,
            NewEvidence {
                kind: "autodebit",
                stage: None,
                channel: m.channel.as_str().into(),
                content: format!(
                    "{who}自动扣款协议：{}，签约编号 {}（{reason}）",
                    channel_name(m.channel),
                    m.contract_code
                ),
                result: "terminated".into(),
            },
        )
        .await?;
    }
    Ok(Some(m))
}

/// Frees a mandate's units for a new mandate; the units it covered.
async fn free_units(txn: &DatabaseTransaction, mandate_id: i32) -> ApiResult<Vec<i32>> {
    let units: Vec<i32> = mandate_unit::Entity::find()
        .filter(mandate_unit::Column::MandateId.eq(mandate_id))
        .all(txn)
        .await?
        .into_iter()
        .map(|l| l.unit_id)
        .collect();
    mandate_unit::Entity::update_many()
        .col_expr(mandate_unit::Column::LiveUnitId, Expr::value(Option::<i32>::None))
        .filter(mandate_unit::Column::MandateId.eq(mandate_id))
        .exec(txn)
        .await?;
    Ok(units)
}

/// `GET /me/autodebit`: the owner's mandates, newest first, ended ones included.
pub async fn mine(state: &AppState, account_id: i32) -> ApiResult<Vec<MandateView>> {
    let ms = mandate::Entity::find()
        .filter(mandate::Column::AccountId.eq(account_id))
        .order_by_desc(mandate::Column::Id)
        .all(&state.db)
        .await?;
    views(state, ms).await
}

/// `DELETE /me/autodebit/{id}`: ends the owner's mandate at once (no debit runs after this), then
/// asks the gateway to end its contract; if the gateway cannot be reached now, the scheduler asks
/// again until it confirms. Deleting an ended mandate answers it as it is.
pub async fn cancel(state: &AppState, account_id: i32, id: i32) -> ApiResult<MandateView> {
    let m = mandate::Entity::find_by_id(id)
        .filter(mandate::Column::AccountId.eq(account_id))
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    if m.status != MandateStatus::Terminated {
        let now = state.clock.now();
        let txn = crate::db::begin_write(&state.db).await?;
        let ended = end_in(&txn, m.id, "owner", "业主申请解除", now).await?;
        txn.commit().await?;
        if let Some(e) = ended.filter(|e| e.gateway_ended_at.is_none()) {
            super::terminations::end_at_gateway(state, &e).await;
        }
    }
    let m = mandate::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    views(state, vec![m]).await?.pop().ok_or(ApiError::NotFound)
}

/// `GET /staff/units/{id}/mandates`: a unit's mandates (masked), for staff of its community.
pub async fn of_unit(state: &AppState, ctx: &StaffCtx, unit_id: i32) -> ApiResult<Vec<MandateView>> {
    ctx.require(Action::ReadSetup)?;
    let u = unit::Entity::find_by_id(unit_id)
        .one(&state.db)
        .await?
        .filter(|u| ctx.sees(u.community_id))
        .ok_or(ApiError::NotFound)?;
    let ids: BTreeSet<i32> = mandate_unit::Entity::find()
        .filter(mandate_unit::Column::UnitId.eq(u.id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|l| l.mandate_id)
        .collect();
    let ms = mandate::Entity::find()
        .filter(mandate::Column::Id.is_in(ids))
        .order_by_desc(mandate::Column::Id)
        .all(&state.db)
        .await?;
    views(state, ms).await
}

/// Views of mandates, their units named in one query.
async fn views(state: &AppState, ms: Vec<mandate::Model>) -> ApiResult<Vec<MandateView>> {
    let links = mandate_unit::Entity::find()
        .filter(mandate_unit::Column::MandateId.is_in(ms.iter().map(|m| m.id)))
        .order_by_asc(mandate_unit::Column::UnitId)
        .all(&state.db)
        .await?;
    let labels = labels_of(&state.db, links.iter().map(|l| l.unit_id)).await?;
    let ids: Vec<i32> = ms.iter().map(|m| m.id).collect();
    let mut next = super::debits::next_of(state, &ids).await?;
    let mut history = history_of(state, &ids).await?;
    let mut units: BTreeMap<i32, Vec<MandateUnit>> = BTreeMap::new();
    for l in links {
        units.entry(l.mandate_id).or_default().push(MandateUnit {
            id: l.unit_id,
            community_id: l.community_id,
            label: labels.get(&l.unit_id).cloned().unwrap_or_default(),
        });
    }
    Ok(ms
        .into_iter()
        .map(|m| MandateView {
            id: m.id,
            channel: m.channel.as_str().into(),
            status: m.status.as_str().into(),
            units: units.remove(&m.id).unwrap_or_default(),
            max_amount: m.max_fen.map(|f| Fen(f).to_yuan_string()),
            account: m
                .account_last4
                .as_deref()
                .map(|l| format!("{} {}", m.bank_name.clone().unwrap_or_default(), masked(l))),
            created_at: m.created_at,
            signed_at: m.signed_at,
            ended_at: m.ended_at,
            ended_by: m.ended_by,
            next_debit: next.remove(&m.id).map(|(date, fen)| NextDebit {
                date,
                amount: Fen(fen).to_yuan_string(),
            }),
            history: history.remove(&m.id).unwrap_or_default(),
            sign: None,
        })
        .collect())
}

/// Settles a gateway notification answer: a mandate event is applied and recorded in one
/// transaction; any other answer passes through.
pub async fn settle(state: &AppState, answer: NotifyAnswer) -> ApiResult<NotifyAnswer> {
    match answer {
        NotifyAnswer::Mandate(m) => {
            on_notification(state, &m).await?;
            Ok(NotifyAnswer::Recorded)
        }
        other => Ok(other),
    }
}

/// What a verified contract notification does to our mandate: signed → active (once), ended →
/// terminated (once). A signature arriving for a mandate the owner already cancelled is ended at
/// the gateway too. Unknown mandates and mismatches change nothing and are kept for staff.
async fn on_notification(state: &AppState, n: &MandateNotification) -> ApiResult<()> {
    let now = state.clock.now();
    let c = &n.change;
    let txn = crate::db::begin_write(&state.db).await?;
    let found = mandate::Entity::find()
        .filter(mandate::Column::ContractCode.eq(c.contract_code.as_str()))
        .lock_exclusive()
        .one(&txn)
        .await?;
    let mut owed = None;
    let (verdict, problem): (&str, Option<(&'static str, String)>) = match (found, &c.state) {
        (None, _) => (
            "mismatch",
            Some(("unknown_mandate", format!("no mandate {}", c.contract_code))),
        ),
        (Some(_), MandateState::Mismatch(why)) => ("mismatch", Some(("mandate_mismatch", why.clone()))),
        (Some(m), MandateState::Signed) => match m.status {
            MandateStatus::Pending => {
                let mut a: mandate::ActiveModel = m.into();
                a.status = Set(MandateStatus::Active);
                a.gateway_contract_id = Set(c.contract_id.clone());
                a.signed_at = Set(Some(now));
                a.updated_at = Set(now);
                let m = a.update(&txn).await?;
                let units = mandate_unit::Entity::find()
                    .filter(mandate_unit::Column::MandateId.eq(m.id))
                    .all(&txn)
                    .await?;
                for u in units {
                    evidence::append(&txn, u.unit_id, now, signed_evidence(&m)).await?;
                }
                ("signed", None)
            }
            MandateStatus::Terminated if m.gateway_contract_id.is_none() => {
                // Signed in WeChat or Alipay after the owner cancelled here: end it there as well.
                let mut a: mandate::ActiveModel = m.into();
                a.gateway_contract_id = Set(c.contract_id.clone());
                a.gateway_ended_at = Set(None);
                a.updated_at = Set(now);
                owed = Some(a.update(&txn).await?);
                ("signed_after_end", None)
            }
            _ => ("duplicate", None),
        },
        (Some(m), MandateState::Terminated) => match m.status {
            MandateStatus::Terminated => {
                if m.gateway_ended_at.is_none() {
                    let mut a: mandate::ActiveModel = m.into();
                    a.gateway_ended_at = Set(Some(now));
                    a.updated_at = Set(now);
                    a.update(&txn).await?;
                }
                ("duplicate", None)
            }
            _ => {
                let id = m.id;
                // The gateway has ended it: nothing more to ask of it.
                mandate::Entity::update_many()
                    .col_expr(mandate::Column::GatewayContractId, Expr::value(c.contract_id.clone()))
                    .filter(mandate::Column::Id.eq(id))
                    .filter(mandate::Column::GatewayContractId.is_null())
                    .exec(&txn)
                    .await?;
                end_in(&txn, id, "gateway", "支付渠道通知协议已解除", now).await?;
                mandate::Entity::update_many()
                    .col_expr(mandate::Column::GatewayEndedAt, Expr::value(Some(now)))
                    .filter(mandate::Column::Id.eq(id))
                    .exec(&txn)
                    .await?;
                ("terminated", None)
            }
        },
    };
    record_mandate(&txn, now, n, verdict, problem).await?;
    txn.commit().await?;
    if let Some(m) = owed {
        super::terminations::end_at_gateway(state, &m).await;
    }
    Ok(())
}
