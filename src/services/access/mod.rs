//! Access: who is asking. Owner accounts (WeChat login, phone binding, consents, what an owner sees
//! of themself), staff users with roles and community scopes, sessions, and login rate limits.
pub mod audit_trail;
pub mod command;
pub mod identity;
pub mod me;
pub mod rate_limit;
pub mod sessions;
pub mod staff;
