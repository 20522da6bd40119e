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

    fn message(&self) -> String {
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
        match self {
            ApiError::Internal(cause) => tracing::error!(error.cause_chain = ?cause, "internal error"),
            ApiError::Unavailable(what) => tracing::warn!(dependency = %what, "dependency unavailable"),
            _ => {}
        }
        HttpResponse::build(self.status_code()).json(ErrorBody {
            code: self.code().to_string(),
            message: self.message(),
            details: self.details(),
        })
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        // A dropped or unreachable database is a 503, anything else a bug.
        match &e {
            sea_orm::DbErr::ConnectionAcquire(_) | sea_orm::DbErr::Conn(_) => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::Unavailable("database".into())
            }
            _ => ApiError::Internal(e.into()),
        }
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
