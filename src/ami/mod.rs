//! AMI semantics: message parsing, accounts, permissions, filters, login.
