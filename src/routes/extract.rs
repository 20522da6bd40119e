//! Extractors that turn a request into typed input or a JSON error: bodies (size-limited, with the
//! offending field named), bearer sessions for owners and staff, the client address.
use crate::error::{ApiError, FieldErrors};
use crate::services::sessions::{self, Subject};
use crate::services::staff::{self, StaffCtx};
use crate::state::AppState;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("state missing")))
}

/// Reads the whole body, refusing more than `limit` bytes with 413 (before reading when the
/// declared length already says so).
pub async fn read_body(req: &HttpRequest, payload: &mut Payload, limit: usize) -> Result<web::Bytes, ApiError> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge);
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::BadRequest("请求体读取失败".into(), None))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Parses JSON, naming the field on a type error (400) or a missing field (422).
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let msg = inner.to_string();
        match inner.classify() {
            serde_json::error::Category::Data if msg.starts_with("missing field") => {
                let field = msg.split('`').nth(1).unwrap_or("body");
                let full = if path == "." {
                    field.to_string()
                } else {
                    format!("{path}.{field}")
                };
                let mut f = FieldErrors::new();
                f.insert(full, "必填".into());
                ApiError::Validation(f)
            }
            serde_json::error::Category::Data => {
                let mut f = FieldErrors::new();
                f.insert(if path == "." { "body".into() } else { path }, "类型错误".into());
                ApiError::BadRequest("请求字段类型错误".into(), Some(f))
            }
            _ => ApiError::BadRequest("请求体不是合法的JSON".into(), None),
        }
    })
}

/// A JSON body, limited to `server.json_limit_bytes`.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let limit = state(&req)?.settings.server.json_limit_bytes;
            let body = read_body(&req, &mut payload, limit).await?;
            parse_json(&body).map(Json)
        })
    }
}

fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let h = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or(ApiError::Unauthenticated)?;
    let s = h.to_str().map_err(|_| ApiError::Unauthenticated)?;
    let token = s.strip_prefix("Bearer ").ok_or(ApiError::Unauthenticated)?.trim();
    if token.is_empty() || token.len() > 128 {
        return Err(ApiError::Unauthenticated);
    }
    Ok(token.to_string())
}

/// The raw bearer token, for handlers that resolve the session together with other store reads.
pub struct Bearer(pub String);

impl FromRequest for Bearer {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(bearer(req).map(Bearer))
    }
}

/// Resolves the request's bearer session (401 when missing, unknown, ended or expired).
fn session(req: &HttpRequest) -> LocalBoxFuture<'static, Result<(web::Data<AppState>, sessions::Session), ApiError>> {
    let req = req.clone();
    Box::pin(async move {
        let st = state(&req)?;
        let s = sessions::resolve(&st, &bearer(&req)?).await?;
        Ok((st, s))
    })
}

/// A signed-in owner (WeChat account).
pub struct OwnerAuth {
    pub account_id: i32,
    pub token_hash: String,
}

impl FromRequest for OwnerAuth {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let s = session(req);
        Box::pin(async move {
            match s.await? {
                (
                    _,
                    sessions::Session {
                        subject: Subject::Owner(id),
                        token_hash,
                    },
                ) => Ok(OwnerAuth {
                    account_id: id,
                    token_hash,
                }),
                _ => Err(ApiError::Forbidden),
            }
        })
    }
}

/// A signed-in, active staff member with role and scope.
pub struct StaffAuth(pub StaffCtx);

impl FromRequest for StaffAuth {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let s = session(req);
        Box::pin(async move {
            match s.await? {
                (
                    st,
                    sessions::Session {
                        subject: Subject::Staff(id),
                        token_hash,
                    },
                ) => Ok(StaffAuth(staff::load_ctx(&st, id, token_hash).await?)),
                _ => Err(ApiError::Forbidden),
            }
        })
    }
}

/// Any session (for logout).
pub struct AnySession {
    pub token_hash: String,
}

impl FromRequest for AnySession {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let s = session(req);
        Box::pin(async move {
            Ok(AnySession {
                token_hash: s.await?.1.token_hash,
            })
        })
    }
}

/// The peer's IP address (the load balancer's, unless it is configured to pass the client's).
pub fn client_ip(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}
