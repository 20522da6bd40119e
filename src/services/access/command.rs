//! One staff command: the role checked up front (`StaffCtx::authorize`, so a forbidden request is
//! 403 before its body is judged), then one write transaction holding the change and its audit
//! record, the commit, and only then the cache versions the command declared it touched. Staff
//! writes that change bills go through `billing::ledger::Ledger` instead, which bumps the same
//! way.
use crate::domain::role::Action;
use crate::error::ApiResult;
use crate::services::access::staff::StaffCtx;
use crate::services::{audit, cache};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;

/// A staff member allowed to run one kind of command.
pub struct Authorized<'a> {
    state: &'a AppState,
    ctx: &'a StaffCtx,
}

impl StaffCtx {
    /// 403 unless this member's role may `action`.
    pub fn authorize<'a>(&'a self, state: &'a AppState, action: Action) -> ApiResult<Authorized<'a>> {
        self.require(action)?;
        Ok(Authorized { state, ctx: self })
    }
}

impl<'a> Authorized<'a> {
    /// Begins the command's write transaction (see `db::begin_write` for SQLite's lock order).
    pub async fn begin(self) -> ApiResult<Command<'a>> {
        Ok(Command {
            txn: crate::db::begin_write(&self.state.db).await?,
            now: self.state.clock.now(),
            state: self.state,
            ctx: self.ctx,
            touched: cache::Touched::default(),
        })
    }
}

/// An open staff command.
pub struct Command<'a> {
    state: &'a AppState,
    ctx: &'a StaffCtx,
    txn: DatabaseTransaction,
    /// The command's one instant (audit, timestamps).
    pub now: DateTime<Utc>,
    touched: cache::Touched,
}

impl Command<'_> {
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Records the command in the audit trail, in its transaction.
    pub async fn audit(&self, action: &str, entity: &str, entity_id: i32, detail: serde_json::Value) -> ApiResult<()> {
        audit::record(
            &self.txn,
            &self.ctx.actor(),
            action,
            entity,
            entity_id,
            detail,
            self.now,
        )
        .await?;
        Ok(())
    }

    /// Owners' cached answers in this community depend on what the command changes.
    pub fn touches_community(&mut self, community_id: i32) {
        self.touched.community(community_id);
    }

    /// Which units an owner account reaches may change (owner records were created or edited).
    pub fn touches_owner_records(&mut self) {
        self.touched.owner_records();
    }

    /// Commits, then marks stale what the command touched.
    pub async fn commit(self) -> ApiResult<()> {
        self.txn.commit().await?;
        self.touched.bump(self.state).await
    }
}
