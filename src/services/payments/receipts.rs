//! Receipts: what a payment proves, for the owner's e-receipt in the app and the printed receipt at
//! the counter — built from the payment's own lines, so both say the same thing. Owners see every
//! payment of their bills: their own orders, and counter payments of bills they own (the one
//! ownership rule) or of units they own today.
use crate::domain::states::channel_name;
use crate::domain::states::PaymentStatus;
use crate::domain::text::esc;
use crate::domain::{money, Fen};
use crate::error::{ApiError, ApiResult};
use crate::services::access::me::link_active;
use crate::services::access::staff::StaffCtx;
use crate::services::billing::bills;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::{community, fee_item, owner, owner_account, payment, payment_line, staff_user, unit, unit_owner};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

/// One paid line of a receipt.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReceiptLine {
    pub unit_code: String,
    pub fee_item: String,
    pub period: String,
    pub principal: String,
    pub late_fee: String,
    pub discount: String,
    pub amount: String,
    /// Set on a line paid with points: how many (its amount is not part of `Receipt::amount`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points: Option<i64>,
}

/// A payment's receipt.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Receipt {
    pub payment_id: i32,
    pub receipt_no: String,
    pub company: String,
    pub company_address: Option<String>,
    pub company_phone: Option<String>,
    pub community: String,
    /// The owners of the paid bills, masked (`张*`, `138****0001`).
    pub payer: String,
    pub lines: Vec<ReceiptLine>,
    pub amount: String,
    /// The amount in Chinese capitals (大写).
    pub amount_in_words: String,
    /// `wechat`, `alipay`, `cash`, `pos`, `bank_transfer`.
    pub method: String,
    /// The method in Chinese (微信支付, 现金…).
    pub method_name: String,
    /// Who took the money: the staff member at the counter, or the gateway for online payments.
    pub operator: String,
    pub paid_at: DateTime<Utc>,
    /// `paid_at` in the community's time, `YYYY-MM-DD HH:MM`.
    pub paid_at_local: String,
    /// Refunded so far (0.00 when none).
    pub refunded: String,
    /// Points that paid part of the bills, and what they paid (besides `amount`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points_used: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points_amount: Option<String>,
}

/// `张三` → `张*`: receipts name the payer without giving the whole name away.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

/// What an owner account reaches: the bills it owns (the one ownership rule) and the units it owns
/// today.
struct Reach {
    bills: BTreeSet<i32>,
    units_today: BTreeSet<i32>,
}

impl Reach {
    async fn of(state: &AppState, account_id: i32) -> ApiResult<Reach> {
        let bills = crate::services::billing::owner::owner_visible(state, account_id)
            .await?
            .iter()
            .map(|b| b.id)
            .collect();
        Ok(Reach {
            bills,
            units_today: units_owned_today(state, account_id).await?,
        })
    }

    /// Whether payment `p` (with its `lines`) is the account's to see: its own order, a payment of
    /// bills it owns, or a counter payment for a unit it owns today.
    fn sees(&self, account_id: i32, p: &payment::Model, lines: &[payment_line::Model]) -> bool {
        p.account_id == Some(account_id)
            || lines.iter().any(|l| l.bill_id.is_some_and(|b| self.bills.contains(&b)))
            || (p.staff_id.is_some() && lines.iter().any(|l| self.units_today.contains(&l.unit_id)))
    }
}

/// Whether an owner account may see payment `p` (see `Reach::sees`).
pub async fn owner_may_see(state: &AppState, account_id: i32, p: &payment::Model) -> ApiResult<bool> {
    if p.account_id == Some(account_id) {
        return Ok(true);
    }
    let lines = payment_line::Entity::find()
        .filter(payment_line::Column::PaymentId.eq(p.id))
        .all(&state.db)
        .await?;
    Ok(Reach::of(state, account_id).await?.sees(account_id, p, &lines))
}

async fn units_owned_today(state: &AppState, account_id: i32) -> ApiResult<BTreeSet<i32>> {
    let Some(index) = owner_account::Entity::find_by_id(account_id)
        .one(&state.db)
        .await?
        .and_then(|a| a.phone_index)
    else {
        return Ok(BTreeSet::new());
    };
    let records: Vec<i32> = owner::Entity::find()
        .filter(owner::Column::PhoneIndex.eq(index))
        .all(&state.db)
        .await?
        .iter()
        .map(|o| o.id)
        .collect();
    let today = state.today();
    Ok(unit_owner::Entity::find()
        .filter(unit_owner::Column::OwnerId.is_in(records))
        .all(&state.db)
        .await?
        .iter()
        .filter(|l| link_active(l, today))
        .map(|l| l.unit_id)
        .collect())
}

/// The payments an owner account may see, newest first: its own orders, and the completed
/// payments of its bills or (counter payments) of units it owns today.
pub async fn owner_payments(state: &AppState, account_id: i32) -> ApiResult<Vec<payment::Model>> {
    let reach = Reach::of(state, account_id).await?;
    let lines = payment_line::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(payment_line::Column::BillId.is_in(reach.bills.iter().copied().collect::<Vec<_>>()))
                .add(payment_line::Column::UnitId.is_in(reach.units_today.iter().copied().collect::<Vec<_>>())),
        )
        .all(&state.db)
        .await?;
    let mut by_payment: HashMap<i32, Vec<payment_line::Model>> = HashMap::new();
    for l in lines {
        by_payment.entry(l.payment_id).or_default().push(l);
    }
    let theirs = payment::Entity::find()
        .filter(payment::Column::Id.is_in(by_payment.keys().copied().collect::<Vec<_>>()))
        .filter(payment::Column::AccountId.is_null())
        .filter(payment::Column::Status.ne(PaymentStatus::Pending))
        .all(&state.db)
        .await?;
    let mut ids: BTreeSet<i32> = theirs
        .iter()
        .filter(|p| {
            reach.sees(
                account_id,
                p,
                by_payment.get(&p.id).map(Vec::as_slice).unwrap_or_default(),
            )
        })
        .map(|p| p.id)
        .collect();
    ids.extend(
        payment::Entity::find()
            .filter(payment::Column::AccountId.eq(account_id))
            .all(&state.db)
            .await?
            .iter()
            .map(|p| p.id),
    );
    Ok(payment::Entity::find()
        .filter(payment::Column::Id.is_in(ids))
        .order_by_desc(payment::Column::Id)
        .all(&state.db)
        .await?)
}

/// The receipt of a paid payment (409 while it is not paid).
pub async fn receipt(state: &AppState, p: &payment::Model) -> ApiResult<Receipt> {
    let Some(receipt_no) = p.receipt_no.clone() else {
        return Err(ApiError::Conflict("NOT_PAID", "该笔支付尚未完成，没有收据".into()));
    };
    let paid_at = p.paid_at.unwrap_or(p.created_at);
    let c = community::Entity::find_by_id(p.community_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    let tz = state.zone_of(&c);
    let lines = payment_line::Entity::find()
        .filter(payment_line::Column::PaymentId.eq(p.id))
        .order_by_asc(payment_line::Column::Id)
        .all(&state.db)
        .await?;
    let unit_ids: BTreeSet<i32> = lines.iter().map(|l| l.unit_id).collect();
    let units: HashMap<i32, String> = unit::Entity::find()
        .filter(unit::Column::Id.is_in(unit_ids.clone()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.code))
        .collect();
    let items: HashMap<i32, String> = fee_item::Entity::find()
        .filter(fee_item::Column::Id.is_in(lines.iter().map(|l| l.fee_item_id).collect::<Vec<_>>()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|f| (f.id, f.name))
        .collect();
    // The payer: the owners the paid periods belong to, by the one ownership rule.
    let links: Vec<_> = unit_owner::Entity::find()
        .filter(unit_owner::Column::UnitId.is_in(unit_ids))
        .all(&state.db)
        .await?
        .iter()
        .map(bills::link_of)
        .collect();
    let mut payer_ids = BTreeSet::new();
    for l in &lines {
        let Ok(period) = crate::domain::period::Period::parse(&l.period) else {
            continue;
        };
        for k in links.iter().filter(|k| k.unit_id == l.unit_id) {
            if crate::domain::billing::ownership::owns(k, &links, period.start()) {
                payer_ids.insert(k.owner_id);
            }
        }
    }
    let mut payers = Vec::new();
    for o in owner::Entity::find()
        .filter(owner::Column::Id.is_in(payer_ids))
        .order_by_asc(owner::Column::Id)
        .all(&state.db)
        .await?
    {
        let phone = state
            .cipher
            .decrypt(&o.phone_enc)
            .map(|p| crate::domain::phone::mask(&p))
            .unwrap_or_else(|_| "****".into());
        payers.push(format!("{}（{phone}）", mask_name(&o.name)));
    }
    let operator = match p.staff_id {
        Some(id) => staff_user::Entity::find_by_id(id)
            .one(&state.db)
            .await?
            .map(|s| s.username)
            .unwrap_or_else(|| format!("staff:{id}")),
        None => format!("{}（线上支付）", channel_name(p.channel)),
    };
    let r = &state.settings.reminders;
    Ok(Receipt {
        payment_id: p.id,
        receipt_no,
        company: r.company_name.clone(),
        company_address: r.company_address.clone(),
        company_phone: r.company_phone.clone(),
        community: c.name,
        payer: payers.join("、"),
        lines: lines
            .iter()
            .map(|l| ReceiptLine {
                unit_code: units.get(&l.unit_id).cloned().unwrap_or_default(),
                fee_item: items.get(&l.fee_item_id).cloned().unwrap_or_default(),
                period: l.period.clone(),
                principal: Fen(l.principal_fen).to_yuan_string(),
                late_fee: Fen(l.late_fee_fen).to_yuan_string(),
                discount: Fen(l.discount_fen).to_yuan_string(),
                amount: Fen(l.amount_fen).to_yuan_string(),
                points: l.points,
            })
            .collect(),
        amount: Fen(p.amount_fen).to_yuan_string(),
        amount_in_words: money::in_words(Fen(p.amount_fen)),
        method: p.channel.to_string(),
        method_name: channel_name(p.channel).into(),
        operator,
        paid_at,
        paid_at_local: paid_at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
        refunded: Fen(p.refunded_fen).to_yuan_string(),
        points_used: p.points_used,
        points_amount: p.points_fen.map(|f| Fen(f).to_yuan_string()),
    })
}

/// `GET /payments/{id}/receipt`: the owner's e-receipt (404 for a payment they may not see).
pub async fn owner_receipt(state: &AppState, account_id: i32, id: i32) -> ApiResult<Receipt> {
    let p = payment::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !owner_may_see(state, account_id, &p).await? {
        return Err(ApiError::NotFound);
    }
    receipt(state, &p).await
}

/// `GET /staff/payments/{id}/receipt.html`: the printable receipt (staff of the community).
pub async fn staff_receipt_html(state: &AppState, ctx: &StaffCtx, id: i32) -> ApiResult<String> {
    ctx.require(crate::domain::role::Action::ReadSetup)?;
    let p = payment::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|p| ctx.sees(p.community_id))
        .ok_or(ApiError::NotFound)?;
    Ok(render(&receipt(state, &p).await?))
}

/// The receipt as an A5-sized printable page (CJK fonts named, never bare serif).
pub fn render(r: &Receipt) -> String {
    let rows: String = r
        .lines
        .iter()
        .map(|l| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
                esc(&l.unit_code),
                esc(&l.fee_item),
                match l.points {
                    Some(n) => format!("{}（积分抵扣{n}分）", esc(&l.period)),
                    None => esc(&l.period),
                },
                l.principal,
                l.late_fee,
                l.discount,
                l.amount
            )
        })
        .collect();
    let contact = [r.company_address.as_deref(), r.company_phone.as_deref()]
        .into_iter()
        .flatten()
        .map(esc)
        .collect::<Vec<_>>()
        .join(" · ");
    let mut refunded = if r.refunded == "0.00" {
        String::new()
    } else {
        format!("<p>已退款：{} 元</p>", r.refunded)
    };
    // The total is the money taken by the method; points paid the rest, said apart.
    if let (Some(n), Some(amount)) = (r.points_used, &r.points_amount) {
        refunded.push_str(&format!(
            "<p>另以积分抵扣：{} 元（{n}积分），不计入上方合计</p>",
            esc(amount)
        ));
    }
    format!(
        r#"<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>收款收据 {no}</title>
<style>
@page {{ size: A5 landscape; margin: 12mm; }}
body {{ font-family: "Noto Sans CJK SC", "Noto Serif CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif; font-size: 12pt; color: #000; }}
h1 {{ text-align: center; font-size: 18pt; letter-spacing: .3em; margin: 0 0 4mm; }}
table {{ width: 100%; border-collapse: collapse; }}
th, td {{ border: 1px solid #000; padding: 1.5mm 2mm; }}
td.n, th.n {{ text-align: right; white-space: nowrap; }}
.meta {{ display: flex; justify-content: space-between; flex-wrap: wrap; }}
.seal {{ margin-top: 8mm; display: flex; justify-content: space-between; }}
</style></head><body>
<h1>收款收据</h1>
<div class="meta"><span>{company}</span><span>收据号：{no}</span></div>
<div class="meta"><span>小区：{community}</span><span>缴款人：{payer}</span></div>
<table><thead><tr><th>房屋</th><th>收费项目</th><th>账期</th><th class=n>本金</th><th class=n>滞纳金</th><th class=n>优惠</th><th class=n>金额</th></tr></thead>
<tbody>{rows}</tbody>
<tfoot><tr><td colspan="3">合计（大写）：{words}</td><td colspan="4" class=n>￥{amount}</td></tr></tfoot></table>
<p>收款方式：{method}　收款时间：{paid}　经办人：{operator}</p>{refunded}
<p>{contact}</p>
<div class="seal"><span>收款单位（盖章）：</span><span>经办人签字：</span></div>
</body></html>"#,
        no = esc(&r.receipt_no),
        company = esc(&r.company),
        community = esc(&r.community),
        payer = esc(&r.payer),
        words = esc(&r.amount_in_words),
        amount = r.amount,
        method = esc(&r.method_name),
        paid = esc(&r.paid_at_local),
        operator = esc(&r.operator),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_masked_after_the_first_character() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name(""), "");
    }
}
