//! wuye: the backend of a property-management owner app and its staff API.
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod error;
pub mod gateways;
pub mod progress;
pub mod routes;
pub mod scheduler;
pub mod services;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
