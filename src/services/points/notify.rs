//! Telling owners a month ahead that points expire: once per points account and expiry date (a
//! claim row decides, also between replicas), through the owner's channels (WeChat subscribe
//! message, else SMS), and only while points are on in the community (a notice never mentions
//! points where they are switched off).
use crate::error::ApiResult;
use crate::services::messaging::{self, Message, SpentFor};
use crate::services::setup::communities::Features;
use crate::state::AppState;
use chrono::{Months, NaiveDate};
use entity::{community, owner_account, points_account, points_expiry_notice, points_lot};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::collections::{BTreeMap, HashMap};

/// The template key in `wechat.templates` / `sms.templates` (SMS parameters: points, last day).
pub const PURPOSE: &str = "points_expiry";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotifyReport {
    /// Notices claimed by this pass.
    pub notices: u64,
    /// Of which a channel accepted.
    pub sent: u64,
}

/// Whether `today` is within the month before `last_day` (inclusive).
pub fn due_for_notice(last_day: NaiveDate, today: NaiveDate) -> bool {
    let from = last_day.checked_sub_months(Months::new(1)).unwrap_or(last_day);
    from <= today && today <= last_day
}

/// Claims and sends every notice due today.
pub async fn pass(state: &AppState) -> ApiResult<NotifyReport> {
    let now = state.clock.now();
    let mut report = NotifyReport::default();
    // Lots with points left whose last day is at most a month and a day away anywhere on earth;
    // each is checked against its community's own date below.
    let horizon = now.date_naive() + chrono::Duration::days(32);
    let lots = points_lot::Entity::find()
        .filter(points_lot::Column::Remaining.gt(0))
        .filter(points_lot::Column::ExpiresOn.lte(horizon))
        .filter(points_lot::Column::ExpiresOn.gte(now.date_naive() - chrono::Duration::days(1)))
        .all(&state.db)
        .await?;
    if lots.is_empty() {
        return Ok(report);
    }
    let accounts: HashMap<i32, points_account::Model> = points_account::Entity::find()
        .filter(points_account::Column::Id.is_in(lots.iter().map(|l| l.points_account_id)))
        .filter(points_account::Column::AccountId.is_not_null())
        .all(&state.db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let mut today_in = HashMap::new();
    for c in community::Entity::find()
        .filter(community::Column::Id.is_in(accounts.values().map(|a| a.community_id)))
        .all(&state.db)
        .await?
    {
        if Features::of(&c).points {
            today_in.insert(c.id, state.today_in(state.community_tz(c.id).await?));
        }
    }
    // Per account, the soonest last day that is due for a notice, and the points expiring then.
    let mut due: BTreeMap<(i32, NaiveDate), i64> = BTreeMap::new();
    for l in &lots {
        let Some(a) = accounts.get(&l.points_account_id) else {
            continue;
        };
        let Some(today) = today_in.get(&a.community_id) else {
            continue;
        };
        if due_for_notice(l.expires_on, *today) {
            *due.entry((a.id, l.expires_on)).or_default() += l.remaining;
        }
    }
    for ((points_account_id, last_day), points) in due {
        let claimed = points_expiry_notice::Entity::insert(points_expiry_notice::ActiveModel {
            points_account_id: sea_orm::Set(points_account_id),
            expires_on: sea_orm::Set(last_day),
            points: sea_orm::Set(points),
            result: sea_orm::Set("sending".into()),
            created_at: sea_orm::Set(now),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::columns([
                points_expiry_notice::Column::PointsAccountId,
                points_expiry_notice::Column::ExpiresOn,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&state.db)
        .await?;
        if claimed != 1 {
            continue;
        }
        report.notices += 1;
        let Some(held) = accounts.get(&points_account_id) else {
            continue;
        };
        let owner = match held.account_id {
            Some(id) => owner_account::Entity::find_by_id(id).one(&state.db).await?,
            None => None,
        };
        let result = match owner {
            Some(o) => {
                let d = messaging::send_to(state, &o, &message(held, points, last_day)).await?;
                match d.channel {
                    Some(ch) => {
                        report.sent += 1;
                        format!("sent:{ch}")
                    }
                    None => format!("not_sent:{}", d.answers.join("; ")),
                }
            }
            None => "not_sent:no account".into(),
        };
        points_expiry_notice::Entity::update_many()
            .col_expr(points_expiry_notice::Column::Result, Expr::value(result))
            .filter(points_expiry_notice::Column::PointsAccountId.eq(points_account_id))
            .filter(points_expiry_notice::Column::ExpiresOn.eq(last_day))
            .exec(&state.db)
            .await?;
    }
    Ok(report)
}

fn message(held: &points_account::Model, points: i64, last_day: NaiveDate) -> Message {
    let day = last_day.format("%Y-%m-%d").to_string();
    Message {
        purpose: PURPOSE,
        wechat_fields: vec![
            ("thing1", "积分即将到期".into()),
            ("number2", points.to_string()),
            ("date3", day.clone()),
            ("thing4", "可在小程序积分商城兑换".into()),
        ],
        page: format!("pages/points/index?community_id={}", held.community_id),
        sms_params: vec![points.to_string(), day.clone()],
        context: format!("points_expiry:{}:{day}", held.id),
        spent_for: SpentFor::Other(format!("points_expiry:{}:{day}", held.id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_is_due_in_the_month_before_the_last_day() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert!(!due_for_notice(d(2028, 12, 31), d(2028, 11, 29)));
        assert!(due_for_notice(d(2028, 12, 31), d(2028, 11, 30)));
        assert!(due_for_notice(d(2028, 12, 31), d(2028, 12, 31)));
        assert!(!due_for_notice(d(2028, 12, 31), d(2029, 1, 1)));
    }
}
