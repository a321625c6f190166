//! The output formats and `--fail-on` levels the commands take: a flag's
//! value enters, the choice leaves. A file of its own so that the fuzz
//! crate (fuzz/) compiles the renderers (`output`, `junit`, `sarif`,
//! `kyverno_apply`'s table) from these same sources.

use clap::ValueEnum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// One row per result and a summary line.
    Table,
    /// Only the summary line (for CronJobs and large clusters).
    Summary,
    /// JUnit XML: a test suite per policy, a test case per rule and resource.
    Junit,
    /// SARIF 2.1.0 for code scanning: violations located at the manifest's
    /// file and line (or the resource's name for cluster objects).
    Sarif,
    Yaml,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Fail,
    Warn,
    Error,
}
