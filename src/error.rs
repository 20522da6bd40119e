//! One error type with stable codes: each variant maps to an HTTP status, an UPPER_SNAKE code and a
//! Chinese message an owner can read. Internal causes are logged with their chain, never returned.
use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use serde::Serialize;
use std::collections::BTreeMap;

/// Field name → what is wrong with it (Chinese), for 422 answers.
pub type FieldErrors = BTreeMap<String, String>;

/// One row/column problem in a rejected CSV import.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportRowError {
    pub row: usize,
    pub column: String,
    pub message: String,
}

/// Every error a handler can answer with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("bad request: {0}")]
    BadRequest(String, Option<FieldErrors>),
    #[error("unauthenticated")]
    Unauthenticated,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("conflict: {1}")]
    Conflict(&'static str, String),
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("validation failed")]
    Validation(FieldErrors),
    #[error("import rejected")]
    ImportRejected(Vec<ImportRowError>),
    #[error("rate limited")]
    RateLimited,
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// The JSON error body of API.md's conventions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    /// `Ok` when no field failed, else a 422 naming every failed field.
    pub fn check(errors: FieldErrors) -> Result<(), ApiError> {
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(errors))
        }
    }

    /// A 422 naming one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut f = FieldErrors::new();
        f.insert(field.to_string(), message.into());
        ApiError::Validation(f)
    }

    /// Wraps any internal failure (database, I/O) as a 500 that logs its cause.
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(e.into())
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(..) => "BAD_REQUEST",
            ApiError::Unauthenticated => "UNAUTHENTICATED",
            ApiError::InvalidCredentials => "INVALID_CREDENTIALS",
            ApiError::Forbidden => "FORBIDDEN",
            ApiError::NotFound => "NOT_FOUND",
            ApiError::Conflict(code, _) => code,
            ApiError::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ApiError::Validation(_) => "VALIDATION_FAILED",
            ApiError::ImportRejected(_) => "IMPORT_REJECTED",
            ApiError::RateLimited => "RATE_LIMITED",
            ApiError::Unavailable(_) => "UNAVAILABLE",
            ApiError::Internal(_) => "INTERNAL",
        }
    }

    /// The Chinese message shown to the client.
    pub fn message(&self) -> String {
        match self {
            ApiError::BadRequest(m, _) => m.clone(),
            ApiError::Unauthenticated => "请先登录".into(),
            ApiError::InvalidCredentials => "登录凭证无效，请重新登录".into(),
            ApiError::Forbidden => "没有权限执行此操作".into(),
            ApiError::NotFound => "请求的资源不存在".into(),
            ApiError::Conflict(_, m) => m.clone(),
            ApiError::PayloadTooLarge => "请求内容过大".into(),
            ApiError::Validation(_) => "提交的内容有误，请检查后重试".into(),
            ApiError::ImportRejected(_) => "导入文件有误，未导入任何数据".into(),
            ApiError::RateLimited => "操作过于频繁，请稍后再试".into(),
            ApiError::Unavailable(_) => "服务暂时不可用，请稍后再试".into(),
            ApiError::Internal(_) => "服务器内部错误，请稍后再试".into(),
        }
    }

    /// Logs what the client is not told: internal causes and the dependency that is down.
    pub fn log(&self) {
        match self {
            ApiError::Internal(cause) => tracing::error!(error.cause_chain = ?cause, "internal error"),
            ApiError::Unavailable(what) => tracing::warn!(dependency = %what, "dependency unavailable"),
            _ => {}
        }
    }

    fn details(&self) -> Option<serde_json::Value> {
        match self {
            ApiError::Validation(f) | ApiError::BadRequest(_, Some(f)) => Some(serde_json::json!({ "fields": f })),
            ApiError::ImportRejected(errors) => Some(serde_json::json!({ "errors": errors })),
            ApiError::Unavailable(what) => Some(serde_json::json!({ "dependency": what })),
            _ => None,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(..) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated | ApiError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict(..) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Validation(_) | ApiError::ImportRejected(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.log();
        HttpResponse::build(self.status_code()).json(ErrorBody {
            code: self.code().to_string(),
            message: self.message(),
            details: self.details(),
        })
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        // A dropped, unreachable or overloaded database is a 503, anything else a bug.
        if db_unavailable(&e) {
            tracing::warn!(error = %e, "database unavailable");
            ApiError::Unavailable("database".into())
        } else {
            ApiError::Internal(e.into())
        }
    }
}

/// True when the database is down, unreachable, restarting or too busy — not when a statement is
/// wrong: pool timeouts, lost connections (I/O, TLS, protocol), PostgreSQL's connection-exception
/// and shutdown states (SQLSTATE 08…, 57P01–57P03, 53300) and SQLite's busy/locked.
pub fn db_unavailable(e: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    match e {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(s)) | DbErr::Query(RuntimeErr::SqlxError(s)) => sqlx_unavailable(s),
        _ => false,
    }
}

fn sqlx_unavailable(e: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error as E;
    match e {
        E::Io(_) | E::Tls(_) | E::Protocol(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed => true,
        E::Database(d) => {
            if let Some(sqlite) = d.try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>() {
                // Extended result codes keep the primary code in the low byte: 5 BUSY, 6 LOCKED.
                let code: i64 = sea_orm::sqlx::error::DatabaseError::code(sqlite)
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
                return matches!(code & 0xff, 5 | 6);
            }
            d.code()
                .is_some_and(|c| c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03" | "53300"))
        }
        _ => false,
    }
}

impl From<crate::domain::money::Overflow> for ApiError {
    fn from(_: crate::domain::money::Overflow) -> Self {
        // Unreachable within the documented money bounds; if data ever gets there, refuse, never wrap.
        tracing::error!("sum of money out of range");
        ApiError::Conflict("AMOUNT_OUT_OF_RANGE", "金额合计超出可处理的范围，未做任何更改".into())
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::warn!(error = %e, "store error");
        ApiError::Unavailable("redis".into())
    }
}

/// Result alias for handlers and services.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{DbErr, RuntimeErr};
    use std::sync::Arc;

    fn sqlx(e: sea_orm::sqlx::Error) -> RuntimeErr {
        RuntimeErr::SqlxError(Arc::new(e))
    }

    #[test]
    fn a_lost_or_busy_database_is_unavailable_and_a_bad_statement_is_not() {
        let io = || std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        for e in [
            DbErr::Query(sqlx(sea_orm::sqlx::Error::Io(io()))),
            DbErr::Exec(sqlx(sea_orm::sqlx::Error::Io(io()))),
            DbErr::Query(sqlx(sea_orm::sqlx::Error::PoolTimedOut)),
            DbErr::Exec(sqlx(sea_orm::sqlx::Error::PoolClosed)),
            DbErr::Query(sqlx(sea_orm::sqlx::Error::Protocol("unexpected eof".into()))),
            DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout),
            DbErr::Conn(RuntimeErr::Internal("gone".into())),
        ] {
            assert!(db_unavailable(&e), "{e}");
            assert_eq!(ApiError::from(e).status_code(), StatusCode::SERVICE_UNAVAILABLE);
        }
        for e in [
            DbErr::Query(sqlx(sea_orm::sqlx::Error::RowNotFound)),
            DbErr::Query(RuntimeErr::Internal("syntax".into())),
            DbErr::Custom("bug".into()),
        ] {
            assert!(!db_unavailable(&e), "{e}");
            assert_eq!(ApiError::from(e).status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        }
    }
}
