//! Delivering one claimed reminder: re-check the bills it may still name, word it, send it through
//! the owner's channels in order (subscribe message, else SMS), record the honest result, the
//! staff tasks a formal notice needs, its printed notice and its evidence.
// Joins each bill (`b`) to the owner records it belongs to (`uo`): the one ownership rule.
use crate::domain::billing::ownership::BILL_OWNER_JOIN;
use crate::domain::money::sum_fen;
use crate::domain::reminders::{self as rules, NoticeFacts, Stage};
use crate::domain::states::ReminderStatus;
use crate::domain::suppression::{self, Effect};
use crate::domain::Fen;
use crate::error::{ApiError, ApiResult};
use crate::services::billing::bills;
use crate::services::collection::evidence::{self, NewEvidence};
use crate::services::collection::notices;
use crate::services::collection::reminders::moment::stmt;
use crate::services::collection::reminders::moment::Moment;
use crate::services::collection::reminders::moment::Outcome;
use crate::services::messaging::{self, Delivery, Message, SpentFor};
use crate::state::AppState;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::{bill, owner, owner_account, reminder, staff_task};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set, TransactionTrait, Value};

/// The bills a reminder may mention right now (the re-check just before sending).
async fn reminder_bills<C: ConnectionTrait>(
    db: &C,
    r: &reminder::Model,
    stage: Stage,
    today: NaiveDate,
) -> ApiResult<Vec<bill::Model>> {
    let suppressed = suppression::sql(Effect::Reminders, "$3");
    let due_key = r
        .episode_key
        .strip_prefix("due:")
        .and_then(|d| d.parse::<NaiveDate>().ok())
        .unwrap_or(today);
    // An overdue reminder belongs to its episode: once the arrears were cleared (episode closed)
    // it mentions nothing, even if new arrears began meanwhile (they get their own episode).
    let episode = r
        .episode_key
        .strip_prefix("episode:")
        .and_then(|v| v.parse::<i32>().ok());
    let (window, extra): (&str, Option<Value>) = match (stage, episode) {
        (Stage::PreDue, _) => ("b.due_date = $4", Some(due_key.into())),
        (_, Some(e)) => (
            "b.due_date < $3 AND EXISTS (SELECT 1 FROM reminder_episodes e WHERE e.id = $4 AND e.open_owner IS NOT NULL)",
            Some(e.into()),
        ),
        (_, None) => ("b.due_date < $3", None),
    };
    let sql = format!(
        "SELECT b.* FROM bills b {BILL_OWNER_JOIN} \
         WHERE uo.owner_id = $1 AND b.community_id = $2 AND {window} AND NOT {suppressed} ORDER BY b.due_date, b.id"
    );
    let mut values: Vec<Value> = vec![r.owner_id.into(), r.community_id.into(), today.into()];
    values.extend(extra);
    Ok(bill::Entity::find()
        .from_raw_sql(stmt(db, &sql, values))
        .all(db)
        .await?)
}

/// The fee items of a notice, each with its count and the amount due today.
fn item_sums(with: &[(bill::Model, bills::BillView, bills::Amounts)]) -> ApiResult<Vec<rules::ItemSum>> {
    let mut out: Vec<rules::ItemSum> = Vec::new();
    for (b, v, a) in with {
        match out.iter_mut().find(|i| i.name == v.fee_item) {
            Some(i) => {
                i.count += 1;
                i.amount = Fen(crate::domain::money::add_fen(i.amount.0, a.due())?);
            }
            None => out.push(rules::ItemSum {
                name: if v.fee_item.is_empty() {
                    format!("账单{}", b.id)
                } else {
                    v.fee_item.clone()
                },
                count: 1,
                amount: Fen(a.due()),
            }),
        }
    }
    Ok(out)
}

/// The last formal demand delivered to this owner in the reminder's episode: a WeChat message the
/// platform accepted (errcode 0), or a printed notice delivered in person or by registered mail.
async fn prior_demand(state: &AppState, m: &Moment, r: &reminder::Model) -> ApiResult<Option<NaiveDate>> {
    if !r.episode_key.starts_with("episode:") {
        return Ok(None);
    }
    let earlier = reminder::Entity::find()
        .filter(reminder::Column::OwnerId.eq(r.owner_id))
        .filter(reminder::Column::CommunityId.eq(r.community_id))
        .filter(reminder::Column::EpisodeKey.eq(r.episode_key.clone()))
        .filter(reminder::Column::Id.ne(r.id))
        .filter(reminder::Column::Stage.is_in([Stage::OverdueFormal.as_str(), Stage::FinalNotice.as_str()]))
        .all(&state.db)
        .await?;
    let local = |t: DateTime<Utc>| t.with_timezone(&m.tz).date_naive();
    let mut dates: Vec<NaiveDate> = earlier
        .iter()
        .filter(|e| e.status == ReminderStatus::Sent && e.channel.as_deref() == Some("wechat"))
        .filter_map(|e| e.sent_at.map(local))
        .collect();
    let ids: Vec<i32> = earlier.iter().map(|e| e.id).collect();
    if !ids.is_empty() {
        let printed = staff_task::Entity::find()
            .filter(staff_task::Column::ReminderId.is_in(ids))
            .filter(staff_task::Column::Kind.eq("printed_notice"))
            .filter(staff_task::Column::Status.eq("done"))
            .filter(staff_task::Column::Delivery.is_in(["in_person", "registered_mail"]))
            .all(&state.db)
            .await?;
        dates.extend(printed.iter().filter_map(|t| t.completed_at.map(local)));
    }
    Ok(dates.into_iter().max())
}

/// Re-checks, renders and sends one claimed reminder, then records what happened.
pub(super) async fn deliver(state: &AppState, m: &Moment, r: reminder::Model) -> ApiResult<Outcome> {
    let now = state.clock.now();
    let Some(stage) = Stage::parse(&r.stage) else {
        return Ok(Outcome::Suppressed);
    };
    let open_bills = reminder_bills(&state.db, &r, stage, m.today).await?;
    if open_bills.is_empty() {
        finish(state, &r, ReminderStatus::Suppressed, None).await?;
        return Ok(Outcome::Suppressed);
    }
    // One message per owner within the policy's gap: a later one waits.
    if m.policy.min_gap_hours > 0 {
        let last: Option<DateTime<Utc>> = reminder::Entity::find()
            .select_only()
            .column_as(reminder::Column::SentAt.max(), "last")
            .filter(reminder::Column::OwnerId.eq(r.owner_id))
            .filter(reminder::Column::Status.eq(ReminderStatus::Sent))
            .into_tuple::<Option<DateTime<Utc>>>()
            .one(&state.db)
            .await?
            .flatten();
        if let Some(last) = last {
            let free = last + Duration::hours(m.policy.min_gap_hours);
            if free > now {
                let moved = reminder::Entity::update_many()
                    .col_expr(reminder::Column::Status, Expr::value(ReminderStatus::Pending))
                    .col_expr(reminder::Column::NotBefore, Expr::value(m.next_send(free)))
                    .col_expr(reminder::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
                    .filter(reminder::Column::Id.eq(r.id))
                    .filter(reminder::Column::Attempts.eq(r.attempts))
                    .exec(&state.db)
                    .await?;
                return Ok(if moved.rows_affected == 1 {
                    Outcome::Deferred
                } else {
                    Outcome::Lost
                });
            }
        }
    }
    let o = owner::Entity::find_by_id(r.owner_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    let with = bills::with_amounts(state, open_bills).await?;
    let unit_ids: Vec<i32> = {
        let mut v: Vec<i32> = with.iter().map(|(b, _, _)| b.unit_id).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let mut unit_codes: Vec<(i32, String)> = with.iter().map(|(b, v, _)| (b.unit_id, v.unit_code.clone())).collect();
    unit_codes.sort();
    unit_codes.dedup();
    let principal = sum_fen(with.iter().map(|(_, _, a)| a.outstanding_principal))?;
    let late = sum_fen(with.iter().map(|(_, _, a)| a.outstanding_late_fee))?;
    let features = crate::services::setup::communities::Features::of(&m.community);
    let facts = NoticeFacts {
        community: m.community.name.clone(),
        company: state.settings.reminders.company_name.clone(),
        owner_name: o.name.clone(),
        units: unit_codes.into_iter().map(|(_, code)| code).collect(),
        bill_count: with.len(),
        items: item_sums(&with)?,
        principal: Fen(principal),
        late_fee: Fen(late),
        oldest_due: with.first().map(|(b, _, _)| b.due_date).unwrap_or(m.today),
        today: m.today,
        deadline: m.today + Duration::days(m.policy.deadline_days),
        prior_demand: if stage.is_formal() {
            prior_demand(state, m, &r).await?
        } else {
            None
        },
        ways: rules::offered(|f| features.on(f)),
    };
    let letter = rules::render(stage, &facts);
    if let Some(word) = rules::banned_word(&letter) {
        // Defence in depth: a name or unit code could carry such a word; never send it.
        tracing::error!(reminder_id = r.id, word, "reminder refused: wording");
        finish(state, &r, ReminderStatus::Failed, None).await?;
        return Ok(Outcome::Suppressed);
    }
    let delivery = send_through_channels(state, &r, stage, &o, &facts).await?;
    let bill_ids: Vec<i32> = with.iter().map(|(b, _, _)| b.id).collect();
    // Honest status: sent only when a channel accepted it; a formal notice with no channel goes to
    // staff; a courtesy reminder with no channel is skipped (never turned into a call).
    let (status, outcome) = match delivery.channel {
        Some(_) => (ReminderStatus::Sent, Outcome::Sent(stage)),
        None if stage.is_formal() => (ReminderStatus::Task, Outcome::Task),
        None => (ReminderStatus::Skipped, Outcome::Skipped),
    };
    let channel = delivery.channel.unwrap_or(if status == ReminderStatus::Task {
        "staff_task"
    } else {
        "none"
    });
    // What the row keeps as its content: what was transmitted, or the letter staff will deliver.
    let content = match status {
        ReminderStatus::Sent => delivery.transmitted.clone(),
        ReminderStatus::Task => Some(letter.clone()),
        _ => None,
    };

    // Record: the row (fenced by the attempt we claimed), tasks, notices, evidence.
    let txn = state.db.begin().await?;
    let marked = reminder::Entity::update_many()
        .col_expr(reminder::Column::Status, Expr::value(status))
        .col_expr(reminder::Column::Channel, Expr::value(channel))
        .col_expr(reminder::Column::Content, Expr::value(content.clone()))
        .col_expr(
            reminder::Column::ProviderAnswer,
            Expr::value(delivery.answers.join("\n")),
        )
        .col_expr(
            reminder::Column::ProviderRef,
            Expr::value(delivery.provider_ref.clone()),
        )
        .col_expr(
            reminder::Column::SentAt,
            Expr::value((status == ReminderStatus::Sent).then_some(now)),
        )
        .col_expr(
            reminder::Column::BillIds,
            Expr::value(serde_json::to_string(&bill_ids).unwrap_or_default()),
        )
        .col_expr(reminder::Column::AmountFen, Expr::value(principal + late))
        .col_expr(reminder::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(reminder::Column::Id.eq(r.id))
        .filter(reminder::Column::Status.eq(ReminderStatus::Sending))
        .filter(reminder::Column::Attempts.eq(r.attempts))
        .exec(&txn)
        .await?;
    if marked.rows_affected != 1 {
        tracing::warn!(reminder_id = r.id, "reminder lease lost while sending");
        return Ok(Outcome::Lost);
    }
    let first_unit = unit_ids.first().copied().unwrap_or_default();
    let mut tasks: Vec<(&str, i32)> = Vec::new();
    if status == ReminderStatus::Task {
        tasks.push(("call", first_unit));
    }
    if stage.is_formal() {
        tasks.push(("printed_notice", first_unit));
    }
    if stage == Stage::FinalNotice {
        tasks.push(("visit", first_unit));
    }
    if !tasks.is_empty() {
        let rows = tasks.into_iter().map(|(kind, unit_id)| staff_task::ActiveModel {
            community_id: Set(m.community.id),
            unit_id: Set(unit_id),
            owner_id: Set(Some(r.owner_id)),
            reminder_id: Set(Some(r.id)),
            kind: Set(kind.into()),
            stage: Set(Some(stage.as_str().into())),
            status: Set("open".into()),
            created_at: Set(now),
            ..Default::default()
        });
        staff_task::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([
                    staff_task::Column::ReminderId,
                    staff_task::Column::UnitId,
                    staff_task::Column::Kind,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    if stage.is_formal() {
        // The printed notice's identity and snapshot: a reprint says exactly this.
        let snapshot = notices::NoticeSnapshot::new(
            state,
            stage.as_str(),
            letter.clone(),
            &o.name,
            &m.community.name,
            m.today,
            &with,
        )?;
        let n = notices::create(&txn, m.community.id, first_unit, r.owner_id, r.id, &snapshot, now).await?;
        notices::attach(&txn, r.id, first_unit, n.id).await?;
    }
    // Evidence keeps exactly what was transmitted: nothing, when nothing was.
    if let (Some(ch), Some(payload)) = (delivery.channel, &delivery.transmitted) {
        for unit_id in &unit_ids {
            let rec = NewEvidence {
                kind: "reminder",
                stage: Some(stage.as_str().into()),
                channel: ch.into(),
                content: payload.clone(),
                result: delivery.answers.join("\n"),
            };
            evidence::append(&txn, *unit_id, now, rec).await?;
        }
    }
    txn.commit().await?;
    Ok(outcome)
}

/// Ends a claimed row without sending (suppressed, refused wording), fenced like a send.
async fn finish(
    state: &AppState,
    r: &reminder::Model,
    status: ReminderStatus,
    answer: Option<String>,
) -> ApiResult<()> {
    reminder::Entity::update_many()
        .col_expr(reminder::Column::Status, Expr::value(status))
        .col_expr(reminder::Column::ProviderAnswer, Expr::value(answer))
        .col_expr(reminder::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(reminder::Column::Id.eq(r.id))
        .filter(reminder::Column::Attempts.eq(r.attempts))
        .exec(&state.db)
        .await?;
    Ok(())
}

/// The reminder through the owner's channels (`messaging`): WeChat to any account bound to the
/// owner's phone, else SMS to it.
async fn send_through_channels(
    state: &AppState,
    r: &reminder::Model,
    stage: Stage,
    o: &owner::Model,
    f: &NoticeFacts,
) -> ApiResult<Delivery> {
    let total = Fen(f.principal.0 + f.late_fee.0).to_yuan_string();
    let accounts = owner_account::Entity::find()
        .filter(owner_account::Column::PhoneIndex.eq(o.phone_index.clone()))
        .all(&state.db)
        .await?;
    let msg = Message {
        purpose: stage.as_str(),
        // A `thing` holds 20 characters: the fees are named as truthfully as that allows.
        wechat_fields: vec![
            ("thing1", f.community.chars().take(20).collect::<String>()),
            ("amount2", format!("{total}元")),
            ("date3", f.oldest_due.to_string()),
            ("thing4", stage_title(stage, &f.items)),
        ],
        page: "pages/bills/index".into(),
        sms_params: vec![total.clone(), f.bill_count.to_string(), f.deadline.to_string()],
        context: format!("reminder:{}", r.id),
        spent_for: SpentFor::Reminder(r.id),
    };
    messaging::send(state, &accounts, Some(&o.phone_enc), &msg).await
}

/// The `thing4` title: ≤ 20 characters, naming the fees as `short_label` allows.
fn stage_title(stage: Stage, items: &[rules::ItemSum]) -> String {
    let label = rules::short_label(items);
    let suffix = match stage {
        Stage::PreDue => "即将到期",
        Stage::OverdueFriendly => "缴费提醒",
        Stage::OverdueFormal => "催告函",
        Stage::FinalNotice => "最终催告",
    };
    let room = 20 - suffix.chars().count();
    format!("{}{suffix}", label.chars().take(room).collect::<String>())
}
