//! CSV import of units and owners: all or nothing, errors by row and column.
//!
//! Header (row 1): `building,unit_code,area_m2,owner_name,owner_phone`. A unit may appear on several
//! rows (co-owners, each their own record); an owner (same phone) may appear with several units.
use crate::domain::role::Action;
use crate::domain::{text, Area, Phone};
use crate::error::{ApiError, ApiResult, ImportRowError};
use crate::services::{audit, cache, setup, staff::StaffCtx};
use crate::state::AppState;
use entity::{community, owner, unit};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

const HEADER: [&str; 5] = ["building", "unit_code", "area_m2", "owner_name", "owner_phone"];
const MAX_ROWS: usize = 20_000;

/// Answer of a successful import.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportResult {
    pub units_created: usize,
    pub owners_created: usize,
}

struct Row {
    building: String,
    code: String,
    area: Area,
    name: String,
    phone: Phone,
}

fn err(row: usize, column: &str, message: impl Into<String>) -> ImportRowError {
    ImportRowError {
        row,
        column: column.into(),
        message: message.into(),
    }
}

/// Parses and checks every row; returns all problems, not just the first.
fn parse(body: &[u8]) -> Result<Vec<(usize, Row)>, Vec<ImportRowError>> {
    let text = std::str::from_utf8(body).map_err(|_| vec![err(1, "file", "文件必须是UTF-8编码的CSV")])?;
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row_no = i + 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(err(row_no, "file", format!("CSV格式错误: {e}")));
                continue;
            }
        };
        if row_no == 1 {
            let header: Vec<String> = record.iter().map(|h| h.trim().to_string()).collect();
            if header != HEADER {
                return Err(vec![err(1, "header", format!("表头应为 {}", HEADER.join(",")))]);
            }
            continue;
        }
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if row_no > MAX_ROWS + 1 {
            errors.push(err(row_no, "file", format!("一次最多导入{MAX_ROWS}行")));
            break;
        }
        if record.len() != HEADER.len() {
            errors.push(err(
                row_no,
                "row",
                format!("应有{}列，实际{}列", HEADER.len(), record.len()),
            ));
            continue;
        }
        let f = |i: usize| record.get(i).unwrap_or_default();
        let building = text::name(f(0), 32)
            .map_err(|m| errors.push(err(row_no, "building", m)))
            .ok();
        let code = text::code(f(1))
            .map_err(|m| errors.push(err(row_no, "unit_code", m)))
            .ok();
        let area = Area::parse(f(2))
            .map_err(|m| errors.push(err(row_no, "area_m2", m)))
            .ok();
        let name = text::name(f(3), 64)
            .map_err(|m| errors.push(err(row_no, "owner_name", m)))
            .ok();
        let phone = Phone::parse(f(4))
            .map_err(|m| errors.push(err(row_no, "owner_phone", m)))
            .ok();
        if let (Some(building), Some(code), Some(area), Some(name), Some(phone)) = (building, code, area, name, phone) {
            rows.push((
                row_no,
                Row {
                    building,
                    code,
                    area,
                    name,
                    phone,
                },
            ));
        }
    }
    if rows.is_empty() && errors.is_empty() {
        errors.push(err(2, "file", "文件中没有数据行"));
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

/// `POST /staff/imports?community_id=`: creates units and owner records in one transaction.
pub async fn import_csv(state: &AppState, ctx: &StaffCtx, community_id: i32, body: &[u8]) -> ApiResult<ImportResult> {
    ctx.require(Action::EditUnitsAndOwners)?;
    ctx.require_community(community_id)?;
    community::Entity::find_by_id(community_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    let rows = parse(body).map_err(ApiError::ImportRejected)?;

    // Cross-row checks: one unit code means one building and area; one phone means one name.
    let mut errors = Vec::new();
    let mut units: BTreeMap<String, (usize, String, Area)> = BTreeMap::new();
    let mut people: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for (row_no, r) in &rows {
        match units.get(&r.code) {
            Some((first, b, a)) if (b, a) != (&r.building, &r.area) => {
                errors.push(err(
                    *row_no,
                    "unit_code",
                    format!("与第{first}行同一房屋的楼栋或面积不一致"),
                ));
            }
            Some(_) => {}
            None => {
                units.insert(r.code.clone(), (*row_no, r.building.clone(), r.area));
            }
        }
        match people.get(r.phone.expose()) {
            Some((first, n)) if n != &r.name => {
                errors.push(err(
                    *row_no,
                    "owner_name",
                    format!("与第{first}行同一手机号的姓名不一致"),
                ));
            }
            Some(_) => {}
            None => {
                people.insert(r.phone.expose().to_string(), (*row_no, r.name.clone()));
            }
        }
    }
    let existing: BTreeSet<String> = unit::Entity::find()
        .filter(unit::Column::CommunityId.eq(community_id))
        .filter(unit::Column::Code.is_in(units.keys().cloned()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|u| u.code)
        .collect();
    for (code, (row_no, _, _)) in &units {
        if existing.contains(code) {
            errors.push(err(*row_no, "unit_code", "房屋编号已存在"));
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.row);
        return Err(ApiError::ImportRejected(errors));
    }

    let now = state.clock.now();
    let today = state.today();
    let txn = crate::db::begin_write(&state.db).await?;
    let mut unit_ids = BTreeMap::new();
    for (code, (_, building, area)) in &units {
        let u = unit::ActiveModel {
            community_id: Set(community_id),
            building: Set(building.clone()),
            code: Set(code.clone()),
            area_centi_m2: Set(area.0),
            handover_date: Set(None),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        unit_ids.insert(code.clone(), u.id);
    }
    // Reuse an owner record already registered in this community under the same phone.
    let mut owner_ids: BTreeMap<String, i32> = BTreeMap::new();
    let mut owners_created = 0;
    for (phone, (_, name)) in &people {
        let index = state.cipher.blind_index(phone);
        let found = owner::Entity::find()
            .filter(owner::Column::CommunityId.eq(community_id))
            .filter(owner::Column::PhoneIndex.eq(&index))
            .one(&txn)
            .await?;
        let id = match found {
            Some(o) => o.id,
            None => {
                owners_created += 1;
                owner::ActiveModel {
                    community_id: Set(community_id),
                    name: Set(name.clone()),
                    phone_enc: Set(state.cipher.encrypt(phone).map_err(ApiError::internal)?),
                    phone_index: Set(index),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(&txn)
                .await?
                .id
            }
        };
        owner_ids.insert(phone.clone(), id);
    }
    let mut linked = BTreeSet::new();
    for (_, r) in &rows {
        let (Some(uid), Some(oid)) = (unit_ids.get(&r.code), owner_ids.get(r.phone.expose())) else {
            continue;
        };
        if linked.insert((*uid, *oid)) {
            setup::link(&txn, *uid, *oid, today, now).await?;
        }
    }
    let result = ImportResult {
        units_created: unit_ids.len(),
        owners_created,
    };
    audit::record(&txn, &ctx.actor(), "import.csv", "community", community_id, serde_json::json!({"units_created": result.units_created, "owners_created": owners_created, "rows": rows.len()}), now).await?;
    txn.commit().await?;
    cache::bump_owner_records(state).await?;
    cache::bump_community(state, community_id).await?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// The parser of uploaded files never panics: any bytes give rows or row/column errors.
        #[test]
        fn never_panics_on_arbitrary_uploads(tail in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut body = b"building,unit_code,area_m2,owner_name,owner_phone\n".to_vec();
            body.extend_from_slice(&tail);
            if let Err(errors) = parse(&body) {
                prop_assert!(errors.iter().all(|e| e.row >= 1));
            }
            let _ = parse(&tail);
        }

        /// Structured junk: plausible rows with arbitrary cells.
        #[test]
        fn never_panics_on_arbitrary_cells(cells in proptest::collection::vec("[^\n]{0,12}", 0..20)) {
            let mut body = String::from("building,unit_code,area_m2,owner_name,owner_phone\n");
            for row in cells.chunks(5) {
                body.push_str(&row.join(","));
                body.push('\n');
            }
            let _ = parse(body.as_bytes());
        }
    }

    #[test]
    fn reports_every_bad_cell() {
        let csv = "building,unit_code,area_m2,owner_name,owner_phone\nA,A-1-0101,89.5,张三,13800000001\nA,A 1,x,,123\n";
        let errs = parse(csv.as_bytes()).err().unwrap_or_default();
        let cols: Vec<_> = errs.iter().map(|e| (e.row, e.column.as_str())).collect();
        assert_eq!(
            cols,
            vec![(3, "unit_code"), (3, "area_m2"), (3, "owner_name"), (3, "owner_phone")]
        );
    }

    #[test]
    fn wrong_header_is_row_one() {
        let errs = parse(b"a,b\n1,2\n").err().unwrap_or_default();
        assert_eq!((errs[0].row, errs[0].column.as_str()), (1, "header"));
    }
}
