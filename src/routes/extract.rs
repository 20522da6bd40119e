//! Extractors that turn a request into typed input or a JSON error: bodies (size-limited, with the
//! offending field named), bearer sessions for owners and staff, the client address.
use crate::error::{ApiError, FieldErrors};
use crate::services::access::sessions::{self, Subject};
use crate::services::access::staff::{self, StaffCtx};
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

/// JSON numbers that are whole (`7.0`) read as integers: JSON Schema calls them integers, so a
/// client that sends one for an id or a count is right.
fn whole_numbers(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64() {
                // An exact integral value within i64 converts without loss.
                if f.fract() == 0.0 && f.abs() < 9.0e15 {
                    #[allow(clippy::cast_possible_truncation)]
                    let i = f as i64;
                    *v = serde_json::Value::from(i);
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(whole_numbers),
        serde_json::Value::Object(o) => o.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

/// Parses JSON, naming the field on a type error (400) or a missing field (422).
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| ApiError::BadRequest("请求体不是合法的JSON".into(), None))?;
    whole_numbers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|e| {
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

/// Parses a query string into `T`, naming the field that failed: a missing field or a number out
/// of its type's range is a 422, any other wrong type a 400 (API.md's conventions).
pub fn parse_query<T: DeserializeOwned>(qs: &str) -> Result<T, ApiError> {
    let pairs = url::form_urlencoded::parse(qs.as_bytes());
    let de = serde_urlencoded::Deserializer::new(pairs);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let msg = e.into_inner().to_string();
        let mut f = FieldErrors::new();
        if let Some(field) = msg.strip_prefix("missing field `").and_then(|m| m.split('`').next()) {
            f.insert(field.to_string(), "必填".into());
            return ApiError::Validation(f);
        }
        if let Some(field) = msg.strip_prefix("duplicate field `").and_then(|m| m.split('`').next()) {
            f.insert(field.to_string(), "参数重复".into());
            return ApiError::BadRequest("查询参数重复".into(), Some(f));
        }
        let raw = url::form_urlencoded::parse(qs.as_bytes())
            .find(|(k, _)| *k == path)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let numeric = !raw.is_empty() && raw.trim_start_matches('-').chars().all(|c| c.is_ascii_digit());
        if numeric {
            f.insert(path, "数值超出范围".into());
            ApiError::Validation(f)
        } else {
            f.insert(path, "类型错误".into());
            ApiError::BadRequest("查询参数类型错误".into(), Some(f))
        }
    })
}

/// A query string as `T` (see `parse_query`).
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(Query))
    }
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

/// The bearer token of `Authorization`.
pub fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let h = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or(ApiError::Unauthenticated)?;
    let s = h.to_str().map_err(|_| ApiError::Unauthenticated)?;
    // The scheme is case-insensitive (RFC 9110 §11.1): `bearer x` is as good as `Bearer x`.
    let (scheme, token) = s.split_once(' ').ok_or(ApiError::Unauthenticated)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthenticated);
    }
    let token = token.trim();
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

/// The client's address: the peer's, or — only when the peer is one of `server.trusted_proxies` —
/// the nearest `X-Forwarded-For` entry that is not itself a trusted proxy (entries further left
/// were written by the client and prove nothing).
pub fn client_ip(req: &HttpRequest) -> String {
    let peer = req.peer_addr().map(|a| a.ip());
    let state = req.app_data::<web::Data<AppState>>();
    let trusted = state.map(|s| s.settings.server.trusted.as_slice()).unwrap_or_default();
    let chain: Vec<String> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_string())
        .collect();
    client_address(peer, trusted, &chain).unwrap_or_else(|| "unknown".into())
}

/// `client_ip`'s rule, without the request.
pub fn client_address(
    peer: Option<std::net::IpAddr>,
    trusted: &[ipnet::IpNet],
    forwarded_for: &[String],
) -> Option<String> {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    let mut client = peer?;
    if !is_trusted(&client) {
        return Some(client.to_string());
    }
    for hop in forwarded_for.iter().rev() {
        match hop.parse::<std::net::IpAddr>() {
            Ok(ip) if is_trusted(&ip) => client = ip,
            Ok(ip) => return Some(ip.to_string()),
            // A garbled hop: stop at the last address we could believe.
            Err(_) => break,
        }
    }
    Some(client.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> std::net::IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let xff = |s: &str| s.split(',').map(|p| p.trim().to_string()).collect::<Vec<_>>();
        // An untrusted peer's header is ignored.
        assert_eq!(
            client_address(Some(ip("203.0.113.9")), &trusted, &xff("1.2.3.4")).as_deref(),
            Some("203.0.113.9")
        );
        // A trusted peer: the nearest untrusted hop, not what the client wrote further left.
        assert_eq!(
            client_address(Some(ip("10.0.0.2")), &trusted, &xff("6.6.6.6, 198.51.100.7, 10.0.0.3")).as_deref(),
            Some("198.51.100.7")
        );
        // Only proxies in the chain, or no header: the last trusted address.
        assert_eq!(
            client_address(Some(ip("10.0.0.2")), &trusted, &xff("10.1.1.1")).as_deref(),
            Some("10.1.1.1")
        );
        assert_eq!(
            client_address(Some(ip("10.0.0.2")), &trusted, &[]).as_deref(),
            Some("10.0.0.2")
        );
        assert_eq!(
            client_address(Some(ip("10.0.0.2")), &trusted, &xff("junk")).as_deref(),
            Some("10.0.0.2")
        );
        assert_eq!(client_address(None, &trusted, &[]), None);
    }
}
