//! TEMP stub
pub const POLICIES: &[(&str, &str)] = &[];
pub const EXAMPLES: &[(&str, &str)] = &[];
