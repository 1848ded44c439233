//! AMI semantics: message parsing, accounts, permissions, filters, login, sessions.

pub mod accounts;
pub mod acl;
pub mod classes;
pub mod filter;
pub mod json;
pub mod login;
pub mod message;
pub mod rules;
pub mod security;
pub mod session;
pub mod users_conf;
pub mod validate;
