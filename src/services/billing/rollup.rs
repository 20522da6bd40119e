//! The collection rollup in the database (`domain::rollup` says what each bill contributes). The
//! ledger keeps it: before its first write to a unit's bills of a month it locks the unit and notes
//! their part; at commit it adds the difference between their part then and now, in the same
//! transaction. The unit lock makes every transaction that changes one unit-month's households
//! see the others' result, so differences never overlap.
use crate::domain::period::Period;
use crate::domain::reports::{BillFacts, Move};
use crate::domain::rollup::{ClearanceKey, HouseholdKey, Households, Money, MoneyKey, Part, Recovery};
use crate::error::ApiResult;
use crate::services::billing::bills::in_chunks;
use chrono::NaiveDate;
use entity::{bill, bill_entry, clearance_rollup, collection_rollup, household_rollup, unit};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Bills with their entries and their units' buildings, as the reports read them.
pub async fn facts<C: ConnectionTrait>(
    db: &C,
    bills: Vec<bill::Model>,
    buildings: &HashMap<i32, String>,
) -> ApiResult<Vec<BillFacts>> {
    Ok(keyed_facts(db, bills, buildings)
        .await?
        .into_iter()
        .map(|(_, f)| f)
        .collect())
}

/// `facts`, each beside its bill's id.
async fn keyed_facts<C: ConnectionTrait>(
    db: &C,
    bills: Vec<bill::Model>,
    buildings: &HashMap<i32, String>,
) -> ApiResult<Vec<(i32, BillFacts)>> {
    let ids: Vec<i32> = bills.iter().map(|b| b.id).collect();
    let mut moves: HashMap<i32, Vec<Move>> = HashMap::new();
    for e in in_chunks(&ids, |chunk| {
        bill_entry::Entity::find()
            .filter(bill_entry::Column::BillId.is_in(chunk))
            .all(db)
    })
    .await?
    {
        moves.entry(e.bill_id).or_default().push(Move {
            kind: e.kind,
            principal_fen: e.principal_fen,
            late_fee_fen: e.late_fee_fen,
            on: e.on_date,
        });
    }
    Ok(bills
        .into_iter()
        .map(|b| {
            let m = moves.remove(&b.id).unwrap_or_default();
            (b.id, fact(&b, buildings, m))
        })
        .collect())
}

fn fact(b: &bill::Model, buildings: &HashMap<i32, String>, moves: Vec<Move>) -> BillFacts {
    BillFacts {
        community_id: b.community_id,
        unit_id: b.unit_id,
        building: buildings.get(&b.unit_id).cloned().unwrap_or_default(),
        fee_item_id: b.fee_item_id,
        due_date: b.due_date,
        principal_fen: b.principal_fen,
        moves,
    }
}

/// A unit and the first day of a month: the rollup's unit of change.
type UnitMonth = (i32, NaiveDate);

/// Every bill of these unit-months, as facts beside their ids.
async fn facts_of<C: ConnectionTrait>(
    db: &C,
    pairs: &BTreeSet<UnitMonth>,
    buildings: &HashMap<i32, String>,
) -> ApiResult<Vec<(i32, BillFacts)>> {
    let mut by_month: BTreeMap<NaiveDate, Vec<i32>> = BTreeMap::new();
    for (unit, month) in pairs {
        by_month.entry(*month).or_default().push(*unit);
    }
    let mut bills = Vec::new();
    for (month, units) in by_month {
        let p = Period::month_of(month);
        bills.extend(
            in_chunks(&units, |chunk| {
                bill::Entity::find()
                    .filter(bill::Column::UnitId.is_in(chunk))
                    .filter(bill::Column::DueDate.between(p.start(), p.end()))
                    .all(db)
            })
            .await?,
        );
    }
    keyed_facts(db, bills, buildings).await
}

fn month_of(b: &bill::Model) -> UnitMonth {
    (b.unit_id, Period::month_of(b.due_date).start())
}

/// What one ledger transaction will change in the rollup.
#[derive(Debug, Default)]
pub struct Tracker {
    /// Each unit-month's part before the transaction's first write to it.
    before: BTreeMap<UnitMonth, Part>,
    /// Its bills as the transaction has changed them so far (the ledger tells each change), so
    /// the commit need not read them again.
    now: BTreeMap<UnitMonth, Vec<(i32, BillFacts)>>,
    /// Unit-months changed in ways not told one by one (a batch insert that may skip rows): read
    /// again at the commit.
    reread: BTreeSet<UnitMonth>,
    buildings: HashMap<i32, String>,
}

impl Tracker {
    /// Notes the part of the unit-months of these (unit, due date)s before a write to them, locking
    /// their units (in id order) first.
    pub async fn note<C: ConnectionTrait>(
        &mut self,
        db: &C,
        bills: impl IntoIterator<Item = (i32, NaiveDate)>,
    ) -> ApiResult<()> {
        let fresh: BTreeSet<UnitMonth> = bills
            .into_iter()
            .map(|(u, due)| (u, Period::month_of(due).start()))
            .filter(|k| !self.before.contains_key(k))
            .collect();
        if fresh.is_empty() {
            return Ok(());
        }
        let units: Vec<i32> = fresh
            .iter()
            .map(|(u, _)| *u)
            .filter(|u| !self.buildings.contains_key(u))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for u in in_chunks(&units, |chunk| {
            unit::Entity::find()
                .filter(unit::Column::Id.is_in(chunk))
                .order_by_asc(unit::Column::Id)
                .lock_exclusive()
                .all(db)
        })
        .await?
        {
            self.buildings.insert(u.id, u.building);
        }
        let mut found = split(facts_of(db, &fresh, &self.buildings).await?);
        for k in fresh {
            let bills = found.remove(&k).unwrap_or_default();
            self.before.insert(k, part_of(&bills));
            self.now.insert(k, bills);
        }
        Ok(())
    }

    /// A noted bill as this transaction has it so far; None (and its unit-month read again at the
    /// commit) for one that was not noted.
    fn fact_mut(&mut self, b: &bill::Model) -> Option<&mut BillFacts> {
        let key = month_of(b);
        let found = self
            .now
            .get_mut(&key)
            .and_then(|bills| bills.iter_mut().find(|(id, _)| *id == b.id))
            .map(|(_, f)| f);
        if found.is_none() {
            self.reread.insert(key);
        }
        found
    }

    /// A ledger entry was appended to a noted bill.
    pub fn moved(&mut self, b: &bill::Model, m: Move) {
        if let Some(f) = self.fact_mut(b) {
            f.moves.push(m);
        }
    }

    /// A noted bill's principal changed.
    pub fn principal(&mut self, b: &bill::Model, principal_fen: i64) {
        if let Some(f) = self.fact_mut(b) {
            f.principal_fen = principal_fen;
        }
    }

    /// A bill was issued in a noted unit-month.
    pub fn issued(&mut self, b: &bill::Model) {
        let f = fact(b, &self.buildings, Vec::new());
        match self.now.get_mut(&month_of(b)) {
            Some(bills) => bills.push((b.id, f)),
            None => {
                self.reread.insert(month_of(b));
            }
        }
    }

    /// Bills may have been issued in these noted unit-months (a batch that skips existing ones).
    pub fn reread(&mut self, bills: impl IntoIterator<Item = (i32, NaiveDate)>) {
        self.reread
            .extend(bills.into_iter().map(|(u, due)| (u, Period::month_of(due).start())));
    }

    /// Adds what changed since each note to the rollup; inside the ledger's transaction, before
    /// its commit.
    pub async fn flush<C: ConnectionTrait>(&mut self, db: &C) -> ApiResult<()> {
        if self.before.is_empty() {
            return Ok(());
        }
        let reread = std::mem::take(&mut self.reread);
        let mut now = std::mem::take(&mut self.now);
        if !reread.is_empty() {
            // What is read again replaces what was told: a unit-month a bill left (a deferral
            // moved its due date) reads as having no bills, not as it was.
            for k in &reread {
                now.remove(k);
            }
            now.extend(split(facts_of(db, &reread, &self.buildings).await?));
            for k in &reread {
                now.entry(*k).or_default();
            }
        }
        let mut change = Part::default();
        for (k, before) in std::mem::take(&mut self.before) {
            let after = now.remove(&k).map(|b| part_of(&b)).unwrap_or_default();
            change.absorb(after.since(&before));
        }
        add(db, &change).await
    }
}

/// Bills by unit-month.
fn split(facts: Vec<(i32, BillFacts)>) -> BTreeMap<UnitMonth, Vec<(i32, BillFacts)>> {
    let mut out: BTreeMap<UnitMonth, Vec<(i32, BillFacts)>> = BTreeMap::new();
    for (id, f) in facts {
        out.entry((f.unit_id, Period::month_of(f.due_date).start()))
            .or_default()
            .push((id, f));
    }
    out
}

fn part_of(bills: &[(i32, BillFacts)]) -> Part {
    let facts: Vec<BillFacts> = bills.iter().map(|(_, f)| f.clone()).collect();
    Part::of(&facts)
}

/// `table.col + excluded.col`: an upsert that adds.
fn plus<C: sea_orm::ColumnTrait>(table: &str, col: C) -> Expr {
    let name = col.as_str().to_string();
    Expr::cust(format!("{table}.{name} + excluded.{name}"))
}

/// Adds rows to the rollup (an upsert per key that adds to what is there).
pub async fn add<C: ConnectionTrait>(db: &C, part: &Part) -> ApiResult<()> {
    use collection_rollup::Column as M;
    use household_rollup::Column as H;
    let money: Vec<collection_rollup::ActiveModel> = part
        .money
        .iter()
        .map(|(k, m)| collection_rollup::ActiveModel {
            community_id: Set(k.community_id),
            building: Set(k.building.clone()),
            fee_item_id: Set(k.fee_item_id),
            due_date: Set(k.due_date),
            period_end: Set(Period::month_of(k.due_date).end()),
            on_date: Set(k.on),
            receivable_fen: Set(m.receivable_fen),
            collected_fen: Set(m.collected_fen),
            late_fee_fen: Set(m.late_fee_fen),
            unpaid_fen: Set(m.unpaid_fen),
            ..Default::default()
        })
        .collect();
    // 10 values a row: 1,000 rows stay far below PostgreSQL's 65,535 parameters.
    for rows in money.chunks(1_000) {
        let t = "collection_rollup";
        collection_rollup::Entity::insert_many(rows.to_vec())
            .on_conflict(
                OnConflict::columns([M::CommunityId, M::Building, M::FeeItemId, M::DueDate, M::OnDate])
                    .value(M::ReceivableFen, plus(t, M::ReceivableFen))
                    .value(M::CollectedFen, plus(t, M::CollectedFen))
                    .value(M::LateFeeFen, plus(t, M::LateFeeFen))
                    .value(M::UnpaidFen, plus(t, M::UnpaidFen))
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    let households: Vec<household_rollup::ActiveModel> = part
        .households
        .iter()
        .map(|(k, h)| household_rollup::ActiveModel {
            community_id: Set(k.community_id),
            building: Set(k.building.clone()),
            fee_item_id: Set(k.fee_item_id),
            month: Set(k.month),
            on_date: Set(k.on),
            billed: Set(h.billed),
            paid: Set(h.paid),
            ..Default::default()
        })
        .collect();
    for rows in households.chunks(1_000) {
        let t = "household_rollup";
        household_rollup::Entity::insert_many(rows.to_vec())
            .on_conflict(
                OnConflict::columns([H::CommunityId, H::Month, H::Building, H::FeeItemId, H::OnDate])
                    .value(H::Billed, plus(t, H::Billed))
                    .value(H::Paid, plus(t, H::Paid))
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    let clearance: Vec<clearance_rollup::ActiveModel> = part
        .clearance
        .iter()
        .map(|(k, r)| clearance_rollup::ActiveModel {
            community_id: Set(k.community_id),
            building: Set(k.building.clone()),
            fee_item_id: Set(k.fee_item_id),
            year: Set(k.year),
            on_date: Set(k.on),
            recovered_fen: Set(r.recovered_fen),
            waived_fen: Set(r.waived_fen),
            ..Default::default()
        })
        .collect();
    for rows in clearance.chunks(1_000) {
        use clearance_rollup::Column as C;
        let t = "clearance_rollup";
        clearance_rollup::Entity::insert_many(rows.to_vec())
            .on_conflict(
                OnConflict::columns([C::CommunityId, C::Year, C::Building, C::FeeItemId, C::OnDate])
                    .value(C::RecoveredFen, plus(t, C::RecoveredFen))
                    .value(C::WaivedFen, plus(t, C::WaivedFen))
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// A community's rollup as the tables hold it (rows that come to nothing left out).
pub async fn stored<C: ConnectionTrait>(db: &C, community_id: i32) -> ApiResult<Part> {
    let mut part = Part::default();
    for r in collection_rollup::Entity::find()
        .filter(collection_rollup::Column::CommunityId.eq(community_id))
        .all(db)
        .await?
    {
        part.money.insert(
            MoneyKey {
                community_id,
                building: r.building,
                fee_item_id: r.fee_item_id,
                due_date: r.due_date,
                on: r.on_date,
            },
            Money {
                receivable_fen: r.receivable_fen,
                collected_fen: r.collected_fen,
                late_fee_fen: r.late_fee_fen,
                unpaid_fen: r.unpaid_fen,
            },
        );
    }
    for r in household_rollup::Entity::find()
        .filter(household_rollup::Column::CommunityId.eq(community_id))
        .all(db)
        .await?
    {
        part.households.insert(
            HouseholdKey {
                community_id,
                building: r.building,
                fee_item_id: r.fee_item_id,
                month: r.month,
                on: r.on_date,
            },
            Households {
                billed: r.billed,
                paid: r.paid,
            },
        );
    }
    for r in clearance_rollup::Entity::find()
        .filter(clearance_rollup::Column::CommunityId.eq(community_id))
        .all(db)
        .await?
    {
        part.clearance.insert(
            ClearanceKey {
                community_id,
                building: r.building,
                fee_item_id: r.fee_item_id,
                year: r.year,
                on: r.on_date,
            },
            Recovery {
                recovered_fen: r.recovered_fen,
                waived_fen: r.waived_fen,
            },
        );
    }
    let mut clean = Part::default();
    clean.absorb(part);
    Ok(clean)
}

/// A community's rollup recomputed from every bill it has: what `stored` must equal.
pub async fn recomputed<C: ConnectionTrait>(db: &C, community_id: i32) -> ApiResult<Part> {
    let buildings: HashMap<i32, String> = unit::Entity::find()
        .filter(unit::Column::CommunityId.eq(community_id))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.building))
        .collect();
    let bills = bill::Entity::find()
        .filter(bill::Column::CommunityId.eq(community_id))
        .all(db)
        .await?;
    Ok(Part::of(&facts(db, bills, &buildings).await?))
}

/// Rebuilds every community's rollup from its bills, a few thousand units at a time (for a database
/// whose bills predate the rollup, and `wuye rollup rebuild`). Inside the caller's transaction.
pub async fn rebuild<C: ConnectionTrait>(db: &C) -> ApiResult<u64> {
    collection_rollup::Entity::delete_many().exec(db).await?;
    household_rollup::Entity::delete_many().exec(db).await?;
    clearance_rollup::Entity::delete_many().exec(db).await?;
    let units = unit::Entity::find().order_by_asc(unit::Column::Id).all(db).await?;
    let mut bills_seen = 0u64;
    for chunk in units.chunks(2_000) {
        let buildings: HashMap<i32, String> = chunk.iter().map(|u| (u.id, u.building.clone())).collect();
        let ids: Vec<i32> = chunk.iter().map(|u| u.id).collect();
        let bills = bill::Entity::find()
            .filter(bill::Column::UnitId.is_in(ids))
            .all(db)
            .await?;
        bills_seen += bills.len() as u64;
        add(db, &Part::of(&facts(db, bills, &buildings).await?)).await?;
    }
    Ok(bills_seen)
}

/// Fills the rollup of a database whose bills predate it (after the migration that adds it): once,
/// by whichever replica starts first; the others wait on the table lock and find it filled.
pub async fn backfill(db: &sea_orm::DatabaseConnection) -> ApiResult<()> {
    use sea_orm::PaginatorTrait;
    let txn = crate::db::begin_write(db).await?;
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        txn.execute_unprepared("LOCK TABLE collection_rollup IN EXCLUSIVE MODE")
            .await?;
    }
    let filled = collection_rollup::Entity::find().count(&txn).await? > 0;
    let billed = bill::Entity::find().count(&txn).await? > 0;
    if !filled && billed {
        let bills = rebuild(&txn).await?;
        tracing::info!(bills, "collection rollup built from existing bills");
    }
    txn.commit().await?;
    Ok(())
}
