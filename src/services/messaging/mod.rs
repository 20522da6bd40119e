//! Messages to owners through their channels in order: a WeChat subscribe message (spending one of
//! the account's one-time grants for the template), else an SMS. Reminders and ticket updates go
//! through here alike; each says what it is for and what each channel carries, and gets back what
//! was transmitted and what every channel answered (evidence keeps exactly that).
use crate::error::ApiResult;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::{owner_account, subscribe_grant};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

/// What a spent grant records it carried.
#[derive(Debug, Clone)]
pub enum SpentFor {
    Reminder(i32),
    /// e.g. `ticket:7:message:12`.
    Other(String),
}

/// One message, as each channel would carry it.
#[derive(Debug, Clone)]
pub struct Message {
    /// The template key in `wechat.templates` / `sms.templates` (a reminder stage, `ticket_reply`…).
    pub purpose: &'static str,
    /// The subscribe message's fields, in the order evidence lists them.
    pub wechat_fields: Vec<(&'static str, String)>,
    /// The mini-program page the message opens.
    pub page: String,
    /// The SMS template's parameters, in order.
    pub sms_params: Vec<String>,
    /// Comes back with SMS delivery receipts.
    pub context: String,
    pub spent_for: SpentFor,
}

/// What was tried, and what each channel answered.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// `wechat`, `sms`, or None when no channel accepted the message.
    pub channel: Option<&'static str>,
    /// Exactly what was transmitted (template, its registered wording, the parameters).
    pub transmitted: Option<String>,
    pub answers: Vec<String>,
    pub provider_ref: Option<String>,
}

/// Sends `msg` to one owner account: by WeChat, else by SMS to the account's own verified phone.
pub async fn send_to(state: &AppState, account: &owner_account::Model, msg: &Message) -> ApiResult<Delivery> {
    send(state, std::slice::from_ref(account), account.phone_enc.as_deref(), msg).await
}

/// Sends `msg` to one of `accounts` by WeChat, else by SMS to the sealed `phone_enc`; None as the
/// channel when neither accepted it (the caller decides what that means).
pub async fn send(
    state: &AppState,
    accounts: &[owner_account::Model],
    phone_enc: Option<&str>,
    msg: &Message,
) -> ApiResult<Delivery> {
    let now = state.clock.now();
    let mut answers = Vec::new();
    let registered = |texts: &std::collections::HashMap<String, String>| {
        texts
            .get(msg.purpose)
            .cloned()
            .unwrap_or_else(|| "（未登记模板文字）".into())
    };
    if let Some(template) = state.settings.wechat.templates.get(msg.purpose) {
        let data: serde_json::Map<String, serde_json::Value> = msg
            .wechat_fields
            .iter()
            .map(|(k, v)| ((*k).to_string(), serde_json::json!({ "value": v })))
            .collect();
        for a in accounts {
            let Some(grant) = spend_grant(state, a.id, template, &msg.spent_for, now).await? else {
                continue;
            };
            let sub = crate::gateways::wechat::SubscribeMessage {
                touser: a.openid.clone(),
                template_id: template.clone(),
                page: msg.page.clone(),
                data: serde_json::Value::Object(data.clone()),
                miniprogram_state: "formal".into(),
                lang: "zh_CN".into(),
            };
            match state.wechat.send_subscribe(&sub).await {
                Ok(()) => {
                    answers.push("wechat: errcode 0".into());
                    let params = msg
                        .wechat_fields
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join("；");
                    return Ok(Delivery {
                        channel: Some("wechat"),
                        transmitted: Some(format!(
                            "微信订阅消息\n模板：{template}\n模板文字：{}\n参数：{params}\n页面：{}",
                            registered(&state.settings.wechat.template_texts),
                            msg.page
                        )),
                        answers,
                        provider_ref: Some(format!("grant:{grant}")),
                    });
                }
                // No subscription left: the grant stays spent; fall through to the next channel.
                Err(crate::gateways::wechat::WechatError::Code(43101, m)) => {
                    answers.push(format!("wechat: errcode 43101 {m}"));
                }
                Err(e) => {
                    answers.push(format!("wechat: {e}"));
                    unspend_grant(state, grant).await?;
                }
            }
        }
    }
    if let (Some(sms), Some(template), Some(sealed)) = (
        state.sms.as_ref(),
        state.settings.sms.templates.get(msg.purpose),
        phone_enc,
    ) {
        match state.cipher.decrypt(sealed) {
            Ok(phone) => match sms.send(template, &msg.sms_params, &phone, &msg.context, now).await {
                Ok(sent) => {
                    answers.push(format!("sms: Ok {}", sent.answer));
                    let listed = msg
                        .sms_params
                        .iter()
                        .enumerate()
                        .map(|(i, p)| format!("{{{}}}={p}", i + 1))
                        .collect::<Vec<_>>()
                        .join("；");
                    return Ok(Delivery {
                        channel: Some("sms"),
                        transmitted: Some(format!(
                            "短信\n模板：{template}\n模板文字：{}\n参数：{listed}\n号码：{}",
                            registered(&state.settings.sms.template_texts),
                            crate::domain::phone::mask(&phone)
                        )),
                        answers,
                        provider_ref: Some(sent.serial_no),
                    });
                }
                Err(e) => answers.push(format!("sms: {e}")),
            },
            Err(_) => answers.push("sms: phone unreadable".into()),
        }
    }
    answers.push("no channel".into());
    Ok(Delivery {
        channel: None,
        transmitted: None,
        answers,
        provider_ref: None,
    })
}

/// Takes one unspent grant of the account for the template; its id, or None if there is none.
async fn spend_grant(
    state: &AppState,
    account_id: i32,
    template: &str,
    spent_for: &SpentFor,
    now: DateTime<Utc>,
) -> ApiResult<Option<i32>> {
    let (reminder_id, other) = match spent_for {
        SpentFor::Reminder(id) => (Some(*id), None),
        SpentFor::Other(s) => (None, Some(s.clone())),
    };
    for _ in 0..3 {
        let Some(g) = subscribe_grant::Entity::find()
            .filter(subscribe_grant::Column::AccountId.eq(account_id))
            .filter(subscribe_grant::Column::TemplateId.eq(template))
            .filter(subscribe_grant::Column::SpentAt.is_null())
            .order_by_asc(subscribe_grant::Column::Id)
            .one(&state.db)
            .await?
        else {
            return Ok(None);
        };
        // A conditional update: two senders racing for the same grant, one wins.
        let took = subscribe_grant::Entity::update_many()
            .col_expr(subscribe_grant::Column::SpentAt, Expr::value(now))
            .col_expr(subscribe_grant::Column::ReminderId, Expr::value(reminder_id))
            .col_expr(subscribe_grant::Column::SpentFor, Expr::value(other.clone()))
            .filter(subscribe_grant::Column::Id.eq(g.id))
            .filter(subscribe_grant::Column::SpentAt.is_null())
            .exec(&state.db)
            .await?;
        if took.rows_affected == 1 {
            return Ok(Some(g.id));
        }
    }
    Ok(None)
}

/// Gives a grant back when WeChat refused the message for a reason that did not consume it.
async fn unspend_grant(state: &AppState, grant: i32) -> ApiResult<()> {
    subscribe_grant::Entity::update_many()
        .col_expr(
            subscribe_grant::Column::SpentAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(subscribe_grant::Column::ReminderId, Expr::value(Option::<i32>::None))
        .col_expr(subscribe_grant::Column::SpentFor, Expr::value(Option::<String>::None))
        .filter(subscribe_grant::Column::Id.eq(grant))
        .exec(&state.db)
        .await?;
    Ok(())
}
