//! Access: sign-in, the owner's own profile and preferences, staff users.
pub mod auth;
pub mod me;
pub mod staff_users;
