//! Imports of units and owners from CSV (UTF-8 with or without BOM, or GBK) or Excel (.xlsx):
//! all or nothing, errors by row and column.
//!
//! Header (row 1): `building,unit_code,area_m2,owner_name,owner_phone`. A unit may appear on several
//! rows (co-owners, each their own record); an owner (same phone) may appear with several units.
use crate::domain::role::Action;
use crate::domain::{text, Area, Phone};
use crate::error::{ApiError, ApiResult, ImportRowError};
use crate::progress::Progress;
use crate::services::access::staff::StaffCtx;
use crate::services::setup::owners;
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

#[derive(Debug)]
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

/// Chinese column names an office's own sheet may carry instead of the keys.
const HEADER_ZH: [&str; 5] = ["楼栋", "房号", "建筑面积", "业主姓名", "业主手机号"];

/// The template a download gives: the header row (UTF-8 with BOM, so Excel opens it).
pub fn template_csv() -> Vec<u8> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    out.extend_from_slice(HEADER.join(",").as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

/// The same header as an Excel workbook (one sheet, 导入).
pub fn template_xlsx() -> ApiResult<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("导入").map_err(ApiError::internal)?;
    for (i, h) in HEADER.iter().enumerate() {
        let col = u16::try_from(i).unwrap_or(0);
        sheet.write_string(0, col, *h).map_err(ApiError::internal)?;
        sheet.set_column_width(col, 16).map_err(ApiError::internal)?;
    }
    book.save_to_buffer().map_err(ApiError::internal)
}

/// What an upload is: an Excel workbook (a zip) or CSV text.
fn is_xlsx(body: &[u8]) -> bool {
    body.starts_with(b"PK\x03\x04")
}

/// CSV text as offices save it: UTF-8 (with or without BOM) or GBK (Excel's "CSV" in Chinese
/// Windows), detected — GBK only when the bytes are not UTF-8 and decode cleanly as GBK.
fn decode_csv(body: &[u8]) -> Result<String, ImportRowError> {
    if let Ok(t) = std::str::from_utf8(body) {
        return Ok(t.trim_start_matches('\u{feff}').to_string());
    }
    // Without BOM sniffing: a stray FF FE must not turn the file into UTF-16.
    let (text, bad) = encoding_rs::GBK.decode_without_bom_handling(body);
    if bad {
        return Err(err(
            1,
            "file",
            "无法识别文件编码：请另存为UTF-8或GBK编码的CSV，或上传.xlsx文件",
        ));
    }
    Ok(text.into_owned())
}

/// The cells of every CSV line (line 1 is the header).
fn csv_rows(body: &[u8]) -> Result<Vec<Vec<String>>, Vec<ImportRowError>> {
    let text = decode_csv(body).map_err(|e| vec![e])?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (i, record) in reader.records().enumerate() {
        match record {
            Ok(r) => rows.push(r.iter().map(str::to_string).collect()),
            Err(e) => {
                errors.push(err(i + 1, "file", format!("CSV格式错误: {e}")));
                rows.push(Vec::new());
            }
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

/// The cells of the first sheet of a workbook, as text: numbers as Excel shows them (a phone typed
/// as a number reads `13800000001`, an area `89.5`).
fn xlsx_rows(body: &[u8]) -> Result<Vec<Vec<String>>, Vec<ImportRowError>> {
    use calamine::{Data, Reader};
    let unreadable = || vec![err(1, "file", "无法读取该Excel文件：请上传.xlsx格式的工作簿")];
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(body.to_vec())).map_err(|_| unreadable())?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(unreadable)?
        .map_err(|_| unreadable())?;
    let mut errors = Vec::new();
    let rows = range
        .rows()
        .enumerate()
        .map(|(i, row)| {
            row.iter()
                .enumerate()
                .map(|(j, c)| match c {
                    Data::Empty => String::new(),
                    Data::String(s) => s.clone(),
                    Data::Int(n) => n.to_string(),
                    // Shortest text that reads back as the same number: what the cell shows.
                    Data::Float(f) => f.to_string(),
                    Data::Bool(b) => b.to_string(),
                    _ => {
                        let col = HEADER.get(j).copied().unwrap_or("file");
                        errors.push(err(i + 1, col, "单元格应为文字或数字"));
                        String::new()
                    }
                })
                .collect()
        })
        .collect();
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

/// Parses and checks every row of a CSV or Excel upload; returns all problems, not just the first.
fn parse(body: &[u8]) -> Result<Vec<(usize, Row)>, Vec<ImportRowError>> {
    let table = if is_xlsx(body) {
        xlsx_rows(body)?
    } else {
        csv_rows(body)?
    };
    check(table)
}

/// Checks a table whose first row is the header.
fn check(table: Vec<Vec<String>>) -> Result<Vec<(usize, Row)>, Vec<ImportRowError>> {
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    for (i, record) in table.into_iter().enumerate() {
        let row_no = i + 1;
        if row_no == 1 {
            let header: Vec<String> = record.iter().map(|h| h.trim().to_string()).collect();
            if header != HEADER && header != HEADER_ZH {
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
        let f = |i: usize| record.get(i).map(String::as_str).unwrap_or_default();
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
pub async fn import_csv(
    state: &AppState,
    ctx: &StaffCtx,
    community_id: i32,
    body: &[u8],
    progress: &Progress,
) -> ApiResult<ImportResult> {
    let auth = ctx.authorize(state, Action::EditUnitsAndOwners)?;
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
    let mut cmd = auth.begin().await?;
    let txn = cmd.txn();
    // Steps: each unit, then each owner record (found or created).
    let total = (units.len() + people.len()) as u64;
    progress.set(0, total);
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
        .insert(txn)
        .await?;
        unit_ids.insert(code.clone(), u.id);
        progress.set(unit_ids.len() as u64, total);
    }
    // Reuse an owner record already registered in this community under the same phone.
    let mut owner_ids: BTreeMap<String, i32> = BTreeMap::new();
    let mut owners_created = 0;
    for (phone, (_, name)) in &people {
        let index = state.cipher.blind_index(phone);
        let found = owner::Entity::find()
            .filter(owner::Column::CommunityId.eq(community_id))
            .filter(owner::Column::PhoneIndex.eq(&index))
            .one(txn)
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
                .insert(txn)
                .await?
                .id
            }
        };
        owner_ids.insert(phone.clone(), id);
        progress.set((unit_ids.len() + owner_ids.len()) as u64, total);
    }
    let mut linked = BTreeSet::new();
    for (_, r) in &rows {
        let (Some(uid), Some(oid)) = (unit_ids.get(&r.code), owner_ids.get(r.phone.expose())) else {
            continue;
        };
        if linked.insert((*uid, *oid)) {
            owners::link(txn, *uid, *oid, today, now).await?;
        }
    }
    let result = ImportResult {
        units_created: unit_ids.len(),
        owners_created,
    };
    cmd.audit("import.csv", "community", community_id, serde_json::json!({"units_created": result.units_created, "owners_created": owners_created, "rows": rows.len()})).await?;
    cmd.touches_owner_records();
    cmd.touches_community(community_id);
    cmd.commit().await?;
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
            // A zip signature followed by junk is an unreadable workbook, not a panic.
            let mut zip = b"PK\x03\x04".to_vec();
            zip.extend_from_slice(&tail);
            prop_assert!(parse(&zip).is_err());
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
    fn gbk_and_bom_csv_and_the_template_workbook_read_back() {
        let row = "building,unit_code,area_m2,owner_name,owner_phone\r\nA,A-1-101,89.50,张三,13800000001\r\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(row);
        assert_eq!(parse(&gbk).unwrap()[0].1.name, "张三");
        let mut bom = "\u{feff}".as_bytes().to_vec();
        bom.extend_from_slice(row.as_bytes());
        assert_eq!(parse(&bom).unwrap()[0].1.name, "张三");
        assert!(template_csv().starts_with("\u{feff}building,".as_bytes()));
        // The template workbook is a header only: read back, it has no data row.
        let errs = parse(&template_xlsx().unwrap()).unwrap_err();
        assert_eq!((errs[0].row, errs[0].column.as_str()), (2, "file"));
        // Chinese headers are accepted too.
        let zh = "楼栋,房号,建筑面积,业主姓名,业主手机号\nA,A-1-101,89.5,张三,13800000001\n";
        assert_eq!(parse(zh.as_bytes()).unwrap().len(), 1);
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
