//! The evidence archive: every notice, message, call, visit, hold and gateway notification for a
//! unit, append-only and hash-chained, so an edited, deleted or reordered record is detected.
//!
//! `content_sha256` = hex SHA-256 of the content; `chain_hash` = hex SHA-256 of the previous
//! record's `chain_hash` (empty for the first), a newline, and this record's canonical fields.
use crate::crypto::sha256_hex;
use crate::error::{ApiError, ApiResult};
use crate::services::access::staff::StaffCtx;
use crate::state::AppState;
use chrono::{DateTime, SubsecRound, Utc};
use entity::{evidence, evidence_head, unit};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;
use utoipa::ToSchema;

/// A record to append.
#[derive(Debug, Clone)]
pub struct NewEvidence {
    pub kind: &'static str,
    pub stage: Option<String>,
    pub channel: String,
    pub content: String,
    pub result: String,
}

/// The fields the chain covers, one per line, in a fixed order.
fn canonical(
    seq: i32,
    kind: &str,
    stage: Option<&str>,
    channel: &str,
    at: DateTime<Utc>,
    sha: &str,
    result: &str,
) -> String {
    format!(
        "{seq}\n{kind}\n{}\n{channel}\n{}\n{sha}\n{result}",
        stage.unwrap_or(""),
        at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    )
}

fn chain(prev: &str, canonical: &str) -> String {
    sha256_hex(format!("{prev}\n{canonical}").as_bytes())
}

/// Appends one record to a unit's chain; its seq. Concurrent appends race for the next `seq`: the
/// unique (unit, seq) index turns the loser's insert into a no-op (no error, so the caller's
/// transaction survives), and it retries on the new head.
pub async fn append(db: &DatabaseTransaction, unit_id: i32, at: DateTime<Utc>, rec: NewEvidence) -> ApiResult<i32> {
    // Stored and hashed at the database's precision, so verification recomputes the same bytes.
    let at = at.trunc_subsecs(6);
    let sha = sha256_hex(rec.content.as_bytes());
    for _ in 0..50 {
        // The head, not the newest surviving row, decides the next seq: a deleted tail then
        // leaves a gap that verification sees even after later appends.
        let head = evidence_head::Entity::find_by_id(unit_id).one(db).await?;
        let (seq, prev) = match head {
            Some(h) => (h.seq + 1, h.chain_hash),
            None => (1, String::new()),
        };
        let c = canonical(seq, rec.kind, rec.stage.as_deref(), &rec.channel, at, &sha, &rec.result);
        let chain_hash = chain(&prev, &c);
        let row = evidence::ActiveModel {
            unit_id: Set(unit_id),
            seq: Set(seq),
            kind: Set(rec.kind.to_string()),
            stage: Set(rec.stage.clone()),
            channel: Set(rec.channel.clone()),
            at: Set(at),
            content: Set(rec.content.clone()),
            content_sha256: Set(sha.clone()),
            chain_hash: Set(chain_hash.clone()),
            result: Set(rec.result.clone()),
            ..Default::default()
        };
        let inserted = evidence::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([evidence::Column::UnitId, evidence::Column::Seq])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        if inserted == 0 {
            continue;
        }
        let head = evidence_head::ActiveModel {
            unit_id: Set(unit_id),
            seq: Set(seq),
            chain_hash: Set(chain_hash),
        };
        evidence_head::Entity::insert(head)
            .on_conflict(
                OnConflict::column(evidence_head::Column::UnitId)
                    .update_columns([evidence_head::Column::Seq, evidence_head::Column::ChainHash])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        return Ok(seq);
    }
    Err(ApiError::internal(anyhow::anyhow!(
        "evidence chain of unit {unit_id} kept moving"
    )))
}

/// One record as staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceView {
    pub seq: i32,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    pub channel: String,
    pub at: DateTime<Utc>,
    pub content: String,
    pub content_sha256: String,
    pub chain_hash: String,
    pub result: String,
}

impl From<evidence::Model> for EvidenceView {
    fn from(m: evidence::Model) -> Self {
        EvidenceView {
            seq: m.seq,
            kind: m.kind,
            stage: m.stage,
            channel: m.channel,
            at: m.at,
            content: m.content,
            content_sha256: m.content_sha256,
            chain_hash: m.chain_hash,
            result: m.result,
        }
    }
}

/// The unit, if the staff member may see it.
pub async fn visible_unit(state: &AppState, ctx: &StaffCtx, unit_id: i32) -> ApiResult<unit::Model> {
    ctx.require(crate::domain::role::Action::ReadSetup)?;
    crate::services::setup::unit_in_scope(state, ctx, unit_id).await
}

pub async fn records<C: ConnectionTrait>(db: &C, unit_id: i32) -> ApiResult<Vec<evidence::Model>> {
    Ok(evidence::Entity::find()
        .filter(evidence::Column::UnitId.eq(unit_id))
        .order_by_asc(evidence::Column::Seq)
        .order_by_asc(evidence::Column::Id)
        .all(db)
        .await?)
}

/// `GET /staff/units/{id}/evidence`.
pub async fn list(state: &AppState, ctx: &StaffCtx, unit_id: i32) -> ApiResult<Vec<EvidenceView>> {
    visible_unit(state, ctx, unit_id).await?;
    Ok(records(&state.db, unit_id)
        .await?
        .into_iter()
        .map(EvidenceView::from)
        .collect())
}

/// The outcome of a verification.
#[derive(Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct Verification {
    pub ok: bool,
    pub records: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_bad_seq: Option<i32>,
}

/// Walks the chain in `seq` order: seqs must run 1, 2, 3… (a deleted record leaves a gap), each
/// content must match its hash, and each chain hash must follow from the one before (an edited
/// field or a swapped order breaks it).
pub fn verify_chain(rows: &[evidence::Model], head: Option<&evidence_head::Model>) -> Verification {
    let mut prev = String::new();
    for (i, r) in rows.iter().enumerate() {
        let expected_seq = i32::try_from(i + 1).unwrap_or(i32::MAX);
        let c = canonical(
            r.seq,
            &r.kind,
            r.stage.as_deref(),
            &r.channel,
            r.at,
            &r.content_sha256,
            &r.result,
        );
        let intact = r.seq == expected_seq
            && sha256_hex(r.content.as_bytes()) == r.content_sha256
            && chain(&prev, &c) == r.chain_hash;
        if !intact {
            return Verification {
                ok: false,
                records: rows.len(),
                first_bad_seq: Some(r.seq.min(expected_seq)),
            };
        }
        prev = r.chain_hash.clone();
    }
    // The newest records deleted: the chain still holds, but it no longer reaches the head.
    let tail = rows.last().map(|r| (r.seq, r.chain_hash.as_str()));
    if let Some(h) = head {
        if tail != Some((h.seq, h.chain_hash.as_str())) {
            return Verification {
                ok: false,
                records: rows.len(),
                first_bad_seq: Some(tail.map(|t| t.0 + 1).unwrap_or(1)),
            };
        }
    }
    Verification {
        ok: true,
        records: rows.len(),
        first_bad_seq: None,
    }
}

/// `GET /staff/units/{id}/evidence/verify`.
pub async fn verify(state: &AppState, ctx: &StaffCtx, unit_id: i32) -> ApiResult<Verification> {
    visible_unit(state, ctx, unit_id).await?;
    let head = evidence_head::Entity::find_by_id(unit_id).one(&state.db).await?;
    Ok(verify_chain(&records(&state.db, unit_id).await?, head.as_ref()))
}
