//! The command line: argument parsing (clap) and one function per command.
//! Arguments enter; text on stdout/stderr and an exit code leave. Commands
//! are thin: the work lives in the library modules.

mod apply;
mod demo;
mod output;
mod test;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "polscan",
    version,
    about = "Audits Kubernetes resources against Kyverno policies and writes PolicyReports",
    long_about = None
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Audit manifest files against policy files.
    ///
    /// Example: polscan apply --policy policies/ --resource manifests/ -o yaml
    Apply(ApplyArgs),
    /// Run Kyverno CLI test files (kyverno-test.yaml) found below the paths.
    ///
    /// Example: polscan test ./policies
    Test(TestArgs),
    /// Audit the bundled example manifests with the bundled default policy set.
    ///
    /// Example: polscan demo
    Demo(DemoArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Yaml,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Fail,
    Warn,
    Error,
}

#[derive(clap::Args, Debug)]
pub struct ApplyArgs {
    /// Policy files or directories (multi-document YAML or JSON).
    #[arg(long = "policy", short = 'p', required = true)]
    pub policies: Vec<PathBuf>,
    /// Resource files or directories.
    #[arg(long = "resource", short = 'r', required = true)]
    pub resources: Vec<PathBuf>,
    /// A Kyverno CLI values file (globalValues, per-policy values, namespace labels).
    #[arg(long)]
    pub values: Option<PathBuf>,
    /// A Kyverno CLI context file (`kind: Context`): resources and image
    /// metadata that CEL policies' `resource.Get/List` and
    /// `image.GetMetadata` see.
    #[arg(long = "context-file")]
    pub context_file: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// Exit non-zero when a result of this status (or worse) is found.
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Also evaluate policies with `background: false`.
    #[arg(long)]
    pub include_non_background: bool,
}

#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// Directories (searched recursively) or kyverno-test.yaml files.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Print the message of each row.
    #[arg(long)]
    pub detailed_results: bool,
    /// Print only the failing rows.
    #[arg(long)]
    pub fail_only: bool,
}

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// Parses arguments, runs the command, and maps errors to exit codes.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Apply(args) => apply::run(&args),
        Command::Test(args) => test::run(&args),
        Command::Demo(args) => demo::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("POLSCAN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
