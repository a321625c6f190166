//! Unit tests of policy validation: one document per check, sans IO.
