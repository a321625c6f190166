//! The command line: argument parsing (clap) and one function per command.
//! Arguments enter; text on stdout/stderr and an exit code leave. Commands
//! are thin: the work lives in the library modules.

mod apply;
mod apply_deadline;
mod apply_stream;
mod args;
mod demo;
mod diag;
mod evidence;
mod evidence_recheck;
mod format;
mod junit;
mod kyverno_apply;
mod long_running;
mod output;
#[cfg(test)]
mod output_props;
mod panic_report;
mod policy_repo;
mod progress;
mod sarif;
mod scan;
mod scan_once;
mod sources;
mod spill;
mod stop;
mod system_host;
mod test;
mod usage;

pub use format::{FailOn, OutputFormat};

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};

#[derive(clap::Parser, Debug)]
#[command(
    name = "polscan",
    version,
    about = "Audits Kubernetes resources against Kyverno policies and writes PolicyReports",
    long_about = None,
    after_help = EXIT_CODES_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log format on stderr: human-readable text, or one JSON object per
    /// line (for log pipelines; the deploy manifests use it). The level
    /// comes from POLSCAN_LOG, else RUST_LOG (default `warn`); the
    /// Kubernetes client's libraries log only when named there
    /// (`kube_client=debug`) or with -vv: their errors reach polscan's own
    /// messages.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// No progress line (it is only drawn when stderr is a terminal).
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// More detail on stderr: -v logs at debug, each failed write, delete
    /// or LIST with its object (the messages group them by cause); -vv
    /// also the Kubernetes client's libraries. POLSCAN_LOG or RUST_LOG,
    /// when set, take precedence.
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
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
    /// Scan a live cluster and write PolicyReports.
    ///
    /// Example: polscan scan --exclude-kinds Secret --report-per resource
    Scan(ScanArgs),
    /// Install the PolicyReport CRDs when they are missing (existing ones,
    /// such as Kyverno's, are kept).
    ///
    /// Example: polscan install-crds --context prod
    InstallCrds(InstallCrdsArgs),
    /// Audit the bundled example manifests with the bundled default policy set.
    ///
    /// Example: polscan demo
    Demo(DemoArgs),
    /// Write the go/no-go evidence package for moving policies from Audit
    /// to Enforce (index.html, evidence.md, evidence.json, MANIFEST), from
    /// the cluster's reports or from report files; or verify a package.
    /// The pages open with the decision per policy: GO (the command or
    /// patch), NO-GO (reasons, whom to contact), WAIT, and once enforced
    /// the rollback status.
    ///
    /// Example: polscan evidence --out evidence/2026-11-23 --since evidence/2026-11-09
    Evidence(EvidenceArgs),
    /// Print a shell completion script.
    ///
    /// Example: polscan completions bash > /etc/bash_completion.d/polscan
    Completions(CompletionsArgs),
}

#[derive(clap::Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `polscan apply`'s arguments: polscan's own spellings and the Kyverno
/// CLI's (`kyverno apply <policy...> --resource ... -f values.yaml -u
/// userinfo.yaml -e exception.yaml --policy-report --table --audit-warn`,
/// cmd/cli/kubectl-kyverno/commands/apply/command.go). List flags take one
/// value per occurrence, repeated or comma-separated, as pflag's
/// StringSlice does: in `-r a.yaml b.yaml`, `b.yaml` is a policy path.
#[derive(clap::Args, Debug)]
#[command(
    group(clap::ArgGroup::new("policy_source").required(true).multiple(true).args(["policy_paths", "policies"])),
    after_help = APPLY_AFTER_HELP,
)]
#[derive(Clone)]
pub struct ApplyArgs {
    /// Policy files or directories, as `kyverno apply <policy...>`; `-`
    /// reads multi-document YAML from stdin.
    #[arg(value_name = "POLICY")]
    pub policy_paths: Vec<PathBuf>,
    /// Policy files or directories (multi-document YAML or JSON); `-` reads
    /// stdin. Repeated or comma-separated.
    #[arg(long = "policy", short = 'p', value_delimiter = ',')]
    pub policies: Vec<PathBuf>,
    /// Resource files or directories; `-` reads stdin (not together with a
    /// policy from stdin). Repeated or comma-separated.
    #[arg(
        long = "resource",
        short = 'r',
        visible_alias = "resources",
        value_delimiter = ',',
        required = true
    )]
    pub resources: Vec<PathBuf>,
    /// PolicyException files or directories (kyverno.io v2/v2beta1 and
    /// policies.kyverno.io), considered when evaluating policies.
    /// Repeated or comma-separated.
    #[arg(
        long = "exception",
        short = 'e',
        visible_alias = "exceptions",
        value_delimiter = ','
    )]
    pub exceptions: Vec<PathBuf>,
    /// A Kyverno CLI values file (`kind: Values`: globalValues, per-policy
    /// values, namespace labels).
    #[arg(long = "values-file", short = 'f', visible_alias = "values")]
    pub values: Option<PathBuf>,
    /// A Kyverno CLI user info file (`kind: UserInfo`: userInfo, roles,
    /// clusterRoles): the requester `request.userInfo`, `subjects`,
    /// `roles` and `clusterRoles` match blocks see.
    #[arg(long = "userinfo", short = 'u')]
    pub user_info: Option<PathBuf>,
    /// A Kyverno CLI context file (`kind: Context`): resources and image
    /// metadata that CEL policies' `resource.Get/List` and
    /// `image.GetMetadata` see.
    #[arg(long = "context-file")]
    pub context_file: Option<PathBuf>,
    /// Output format [default: table]. With --policy-report only yaml or
    /// json.
    #[arg(long, short = 'o', value_enum)]
    pub output: Option<OutputFormat>,
    /// Print the PolicyReports (as `-o yaml`, or `-o json`), as `kyverno
    /// apply --policy-report`.
    #[arg(long)]
    pub policy_report: bool,
    /// Print results as the Kyverno CLI's table (ID, POLICY, RULE,
    /// RESOURCE, RESULT, REASON). --policy-report wins when both are given,
    /// as in the Kyverno CLI.
    #[arg(long, short = 't', conflicts_with = "output")]
    pub table: bool,
    /// With --table: add the MESSAGE column.
    #[arg(long)]
    pub detailed_results: bool,
    /// Report failures of policies whose action is not Enforce as
    /// warnings. As in the Kyverno CLI, ValidatingAdmissionPolicy and
    /// ValidatingPolicy failures are shown as warnings but still count as
    /// failures for --fail-on.
    #[arg(long)]
    pub audit_warn: bool,
    /// Exit non-zero when a result of this status (or worse) is found.
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Also evaluate policies with `background: false`.
    #[arg(long)]
    pub include_non_background: bool,
    /// Write the run's record (complete or not, counts, timing) to this
    /// file, as the ConfigMap a cluster scan records: `polscan evidence
    /// --from <reports> --scan-record <file>` takes it as proof the audit
    /// was complete.
    #[arg(long)]
    pub run_record: Option<PathBuf>,
    /// The deadline of the whole run (`10m`, `90s`, `1h`): reached, apply
    /// stops with exit 2 and one line naming the step and the resources
    /// being evaluated; nothing was decided. A CEL expression's cost is not
    /// bounded otherwise (see README, "CEL cost").
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub timeout: String,
}

/// `--report-api`: where reports are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportApiFlag {
    /// Whatever the server serves for the report kinds (by API discovery):
    /// wgpolicyk8s.io when it serves both.
    Auto,
    /// wgpolicyk8s.io/v1alpha2 PolicyReport / ClusterPolicyReport.
    Wgpolicyk8s,
    /// openreports.io/v1alpha1 Report / ClusterReport (OpenReports).
    Openreports,
}

impl ReportApiFlag {
    /// The API named; None for `auto`.
    pub fn api(self) -> Option<polscan::cluster::report_store::ReportApi> {
        use polscan::cluster::report_store::ReportApi;
        match self {
            ReportApiFlag::Auto => None,
            ReportApiFlag::Wgpolicyk8s => Some(ReportApi::Wgpolicy),
            ReportApiFlag::Openreports => Some(ReportApi::OpenReports),
        }
    }
}

/// `install-crds --api`: whose CRDs to install.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CrdApiFlag {
    /// wgpolicyk8s.io/v1alpha2 PolicyReport / ClusterPolicyReport.
    Wgpolicyk8s,
    /// openreports.io/v1alpha1 Report / ClusterReport.
    Openreports,
}

impl CrdApiFlag {
    /// The API named.
    pub fn api(self) -> polscan::cluster::report_store::ReportApi {
        use polscan::cluster::report_store::ReportApi;
        match self {
            CrdApiFlag::Wgpolicyk8s => ReportApi::Wgpolicy,
            CrdApiFlag::Openreports => ReportApi::OpenReports,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportPer {
    /// One report per resource with results (Kyverno's layout).
    Resource,
    /// One report per namespace plus one for cluster-scoped resources,
    /// split into parts under 1 MiB.
    Namespace,
}

#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    /// Kubeconfig file (default: KUBECONFIG, ~/.kube/config, or in-cluster).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use.
    #[arg(long)]
    pub context: Option<String>,
    /// Policy files or directories, evaluated besides the cluster's policies.
    #[arg(long = "policy", short = 'p')]
    pub policies: Vec<PathBuf>,
    /// Do not read policies from the cluster (only --policy files). The
    /// reports written then hold only those policies' results: add
    /// --dry-run for an ad-hoc look that leaves the cluster's reports as
    /// they are.
    #[arg(long)]
    pub no_cluster_policies: bool,
    /// Only list these kinds (`Kind` or `group/Kind`, comma-separated or
    /// repeated). A kind the server does not serve is a usage error (exit 64).
    /// Events, report kinds and Secrets are listed only when named here;
    /// Secret values are redacted from every result.
    #[arg(long)]
    pub include_kinds: Vec<String>,
    /// Never list these kinds (besides Events, report kinds and Secrets,
    /// which a scan leaves out unless --include-kinds names them).
    #[arg(long)]
    pub exclude_kinds: Vec<String>,
    /// Only scan these namespaces (cluster-scoped kinds are then skipped).
    #[arg(long = "namespace", short = 'n')]
    pub namespaces: Vec<String>,
    /// Skip these namespaces.
    #[arg(long)]
    pub exclude_namespaces: Vec<String>,
    /// Scan one shard of the cluster, `I/N` (index from 0): a namespace
    /// belongs to one shard (by a hash of its name), a cluster-scoped
    /// object by its kind and name. The shard writes and prunes only its
    /// own reports, and records its run in `<--last-run-configmap>-<I>`.
    #[arg(long, value_name = "I/N", conflicts_with = "shards")]
    pub shard: Option<String>,
    /// Split the scan N ways and scan the shard an Indexed Job's pod is
    /// given (`JOB_COMPLETION_INDEX`): `--shards N` in every pod of a Job
    /// with `completionMode: Indexed` and `completions: N`.
    #[arg(long, value_name = "N")]
    pub shards: Option<u32>,
    /// Names the run a shard belongs to (default: `POLSCAN_RUN_ID`), so
    /// `polscan evidence` can tell the N shards of one run from those of an
    /// earlier one: each run needs its own. The Indexed Job overlay sets it
    /// to the Job's uid. (Shards do not run with `--interval`.)
    #[arg(long, env = "POLSCAN_RUN_ID", value_name = "ID")]
    pub run_id: Option<String>,
    /// Report layout.
    #[arg(long, value_enum, default_value_t = ReportPer::Resource)]
    pub report_per: ReportPer,
    /// The report API to write to (and read stored reports from).
    #[arg(long, value_enum, default_value_t = ReportApiFlag::Auto)]
    pub report_api: ReportApiFlag,
    /// Write nothing. With -o yaml|json, print every report a real run
    /// would leave in the cluster (changed or not); stderr says which it
    /// would apply and delete.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format of the findings (with --dry-run and yaml/json: the reports that would be written).
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// Exit 1 when a result of this status (or worse) is found.
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Objects per LIST page.
    #[arg(long, default_value_t = 500)]
    pub page_size: u32,
    /// Let policies make HTTP(S) calls (CEL `http.Get/Post`, `apiCall.service`,
    /// GlobalContextEntry services); without it those calls give error results.
    /// Cloud metadata endpoints and loopback stay refused, as Kyverno refuses them.
    #[arg(long)]
    pub allow_http: bool,
    /// Apply the cluster's PolicyExceptions in this namespace (`*`: all),
    /// as a Kyverno started with `--enablePolicyException
    /// --exceptionNamespace=<ns>`. Without it none is applied: Kyverno
    /// ignores PolicyExceptions by default. (`--policy` files' exceptions
    /// are always applied.)
    #[arg(long, value_name = "NAMESPACE|*")]
    pub exception_namespace: Option<String>,
    /// Apply Kyverno's `resourceFilters` from this ConfigMap (e.g.
    /// kyverno/kyverno), as a Kyverno reports controller started with
    /// --skipResourceFilters=false does (and Kyverno's admission): what they
    /// filter gets no result of a Kyverno policy. Without it none are
    /// applied, as Kyverno's reports controller by default.
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub kyverno_config: Option<String>,
    /// Kinds listed at the same time.
    #[arg(long, default_value_t = 4)]
    pub list_concurrency: usize,
    /// Record the run's outcome (counts, failures, phase timings) in this
    /// ConfigMap, `<namespace>/<name>`, for `kubectl get cm` readers: as
    /// in progress before the first report write, then how it ended. The
    /// run holds the Lease `<name>-lock` there while it writes (see
    /// --lock-timeout); SIGTERM records it as incomplete.
    #[arg(long)]
    pub last_run_configmap: Option<String>,
    /// With --last-run-configmap: how long to wait (`2m`, `30s`, `0`) when
    /// another scan holds the record's Lease (`<name>-lock`, in the same
    /// namespace) before giving up with exit 2. The default outlasts the
    /// Lease of a scan that was killed (60s), which is then taken over.
    #[arg(long, value_name = "DURATION", default_value = "2m")]
    pub lock_timeout: String,
    /// Keep running: scan, wait this long (`1h`, `30m`), scan again, until
    /// SIGTERM. Prints a summary line per scan.
    #[arg(long)]
    pub interval: Option<String>,
    /// With --interval: serve Prometheus metrics at http://<addr>/metrics
    /// (and /healthz), e.g. `0.0.0.0:9090`. Unauthenticated, plain HTTP:
    /// whoever reaches the address reads them; in a cluster keep it behind
    /// deploy/'s NetworkPolicy, or bind 127.0.0.1.
    #[arg(long)]
    pub metrics_addr: Option<String>,
    /// The deadline of a scan (`30m`, `20s`, `2h`; with --interval, of each
    /// scan): reached, the scan stops with exit 2, naming the step it was
    /// at, and deletes nothing more; recording the run may take 10 s more.
    /// Each request is bounded on its own too: 10 s to connect, 30 s
    /// without an answer.
    #[arg(long, default_value = "30m")]
    pub timeout: String,
}

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct EvidenceArgs {
    #[command(subcommand)]
    pub command: Option<EvidenceCommand>,
    /// Directory to write the package to (created; a directory holding a
    /// package is refused unless --force, any other file always).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace the package already in --out (packages are an audit trail:
    /// keep the old one unless it is really meant to go).
    #[arg(long)]
    pub force: bool,
    /// Only these policies (`name` or `namespace/name`; repeated or comma-separated).
    #[arg(long = "policy")]
    pub policies: Vec<String>,
    /// Only results in these namespaces (cluster-scoped results are kept).
    #[arg(long = "namespace", short = 'n')]
    pub namespaces: Vec<String>,
    /// Read reports from these files (written by `apply`/`scan -o yaml|json`)
    /// instead of the cluster. Repeated or comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub from: Vec<PathBuf>,
    /// Policy (and PolicyException, ValidatingAdmissionPolicyBinding) files
    /// the reports are about. With --from, the only policies; from the
    /// cluster, added to the cluster's (for policies scanned as files with
    /// `polscan scan --policy`; the cluster's document wins when both hold
    /// one). Repeated or comma-separated.
    #[arg(long = "policies-from", value_delimiter = ',')]
    pub policy_files: Vec<PathBuf>,
    /// The last scan's record: `<namespace>/<name>` of the ConfigMap
    /// (default polscan-system/polscan-last-run), or with --from a file
    /// holding that ConfigMap.
    #[arg(long)]
    pub scan_record: Option<String>,
    /// Reading from the cluster: the deadline for reading it all (`10m`,
    /// `90s`); reached, evidence stops with exit 2 and writes no package.
    /// Each request is bounded on its own too: 10 s to connect, 30 s
    /// without an answer.
    #[arg(long, default_value = "10m")]
    pub timeout: String,
    /// A previous package (directory, verified first) or its evidence.json
    /// to compare with and check rollback conditions against. Where a
    /// policy's rules changed between the two, the comparison shows their
    /// diff, and the violations gone with a changed rule are the change's,
    /// not fixes.
    #[arg(long)]
    pub since: Option<PathBuf>,
    /// Exceptions expiring within this window are flagged (`14d`, `2w`, `36h`).
    #[arg(long, default_value = "14d")]
    pub expiry_window: String,
    /// How long a policy in Audit must have been clean — complete scans
    /// without a fail or error result, its rules unchanged — before it is
    /// ready (`7d`, `36h`; `0` turns the rule off, and --min-scans with
    /// it). Read from the soak history the recorded scans keep beside the
    /// last-run record; unknown with --from, so no policy is ready then
    /// unless `--min-soak 0`.
    #[arg(long, default_value = "7d")]
    pub min_soak: String,
    /// ... over at least this many complete, clean scans.
    #[arg(long, default_value_t = 2)]
    pub min_scans: u32,
    /// The oldest the newest recorded scan may be for a policy to be
    /// ready (`2d`, `36h`; `0`: no bound): what was created or changed
    /// after it is unknown, and a CronJob that stopped, or fails before
    /// it evaluates anything, records nothing. The default allows a daily
    /// CronJob one missed run.
    #[arg(long, default_value = "2d")]
    pub max_scan_age: String,
    /// Do not recheck the cluster. By default, when a policy would be
    /// ready, the evidence first runs a dry-run scan of the cluster as it
    /// is (nothing written, with the last recorded scan's settings): a
    /// resource created or changed since that scan that violates the
    /// policy makes it not ready, and a recheck that cannot list
    /// everything makes it wait. With this flag a ready verdict rests on
    /// the last recorded scan alone (up to --max-scan-age old).
    #[arg(long)]
    pub no_recheck: bool,
    /// Exit 1 when a policy is not ready (or still soaking), a rollback
    /// condition is met, or an enforced policy needs a rescan.
    #[arg(long)]
    pub require_ready: bool,
    /// A Git checkout of the policies: per policy, where its action is set
    /// (a manifest, or a Helm chart's values) and `patches/<policy>/
    /// promote.patch` / `rollback.patch` for `git apply` in it. A folder
    /// of a work tree is fine: the patches name files from its top.
    #[arg(long)]
    pub policy_repo: Option<PathBuf>,
    /// This cluster's environment's Helm values file(s), relative to
    /// --policy-repo or to the current directory: where several values files set a chart's action, the
    /// one patched. Repeated or comma-separated.
    #[arg(long = "policy-values", value_delimiter = ',')]
    pub policy_values: Vec<String>,
    /// The environment the cluster serves (free text, recorded in
    /// evidence.json and shown in the header). `production` (any case)
    /// applies the fail-closed baseline: every policy of a baseline
    /// severity that is not Enforce is a breach, listed at the top.
    #[arg(long)]
    pub environment: Option<String>,
    /// The `policies.kyverno.io/severity` values the production baseline
    /// covers (default critical). Repeated or comma-separated.
    #[arg(long = "baseline-severity", value_delimiter = ',')]
    pub baseline_severities: Vec<String>,
    /// A label key naming the team that owns a resource, tried in the
    /// order given (default: team, owner, app.kubernetes.io/part-of): a
    /// violation goes to the first found on the resource, else on its top
    /// owner, else on its namespace. With --from, labels are read from
    /// manifests and Namespaces given with --from. Repeated or
    /// comma-separated.
    #[arg(long = "owner-label", value_delimiter = ',')]
    pub owner_labels: Vec<String>,
    /// The kubeconfig to read the cluster with (not with --from).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (not with --from).
    #[arg(long)]
    pub context: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum EvidenceCommand {
    /// Check a package against its MANIFEST: exit 1 when a file was
    /// changed, added or removed.
    ///
    /// Example: polscan evidence verify evidence/2026-11-23
    Verify { dir: PathBuf },
    /// Merge several environments' packages (dev, staging, production —
    /// each verified first) into one decision: a policy is ready for
    /// production only when every package holds it, judges it ready, and
    /// holds the same rules for it. Each environment is named by its
    /// package's --environment, else its cluster.
    ///
    /// Example: polscan evidence merge evidence/dev evidence/prod --out evidence/all --require-ready
    Merge {
        /// The environments' package directories (at least two).
        #[arg(required = true, num_args = 2.., value_name = "PACKAGE")]
        packages: Vec<PathBuf>,
        /// Directory to write the merged package to (merged.json,
        /// evidence.md, index.html, MANIFEST; refused as for `evidence`).
        #[arg(long)]
        out: PathBuf,
        /// Replace the package already in --out.
        #[arg(long)]
        force: bool,
        /// Exit 1 when a policy is not ready in every environment.
        #[arg(long)]
        require_ready: bool,
    },
}

#[derive(clap::Args, Debug)]
pub struct InstallCrdsArgs {
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    #[arg(long)]
    pub context: Option<String>,
    /// The report API whose CRDs to install.
    #[arg(long, value_enum, default_value_t = CrdApiFlag::Wgpolicyk8s)]
    pub api: CrdApiFlag,
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

/// The exit codes, shown by `--help` and in README.md's table. Usage
/// errors have their own code so a script can tell a mistyped command
/// line from an incomplete audit.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0   done; nothing --fail-on names was found
  1   --fail-on found a result it names; test: an expectation failed;
      evidence --require-ready: not ready (or a rollback, or a rescan);
      evidence verify: a changed, added or removed file
  2   incomplete: an invalid policy, an unreadable file, an unreachable
      cluster or another runtime error
  3   test: every expectation checked passed, some were out of scope
  64  usage error: unknown flag, missing or conflicting arguments";

const APPLY_AFTER_HELP: &str = "\
Kyverno CLI spellings: `polscan apply policy.yaml dir/ -r res.yaml` (policy
paths as arguments), `-r a.yaml,b.yaml`, `-f/--values-file`, `-u/--userinfo`,
`-e/--exception`, `--policy-report`, `-t/--table`, `--detailed-results`,
`--audit-warn`. `-p -` or `-r -` reads YAML from stdin:
  helm template chart | polscan apply -p - -r manifests/
Unlike `kyverno apply`, -p is --policy and -o the output format; the exit
code is 0 unless --fail-on names a result found.

Exit codes:
  0   done; nothing --fail-on names was found
  1   --fail-on found a result it names
  2   incomplete: an invalid policy, an unreadable file or input
  64  usage error: unknown flag, missing or conflicting arguments";

/// Parses arguments, runs the command, and maps errors to exit codes.
pub fn main() -> ExitCode {
    use polscan::engine::nesting::EVALUATION_STACK;
    // Policies compile and evaluate on stacks of EVALUATION_STACK, which
    // the engine's expression bounds are measured against (a stack
    // overflow aborts the process; it cannot be caught): this thread,
    // rayon's and the runtime's (args::runtime).
    let _ = rayon::ThreadPoolBuilder::new()
        .stack_size(EVALUATION_STACK)
        .build_global();
    let command = std::thread::Builder::new()
        .name("polscan".into())
        .stack_size(EVALUATION_STACK)
        .spawn(run);
    match command.map(std::thread::JoinHandle::join) {
        Ok(Ok(code)) => code,
        // The panic hook has reported it; 101 as a panicking main gives.
        Ok(Err(_)) => ExitCode::from(101),
        Err(err) => {
            eprintln!("error: starting polscan's main thread: {err}");
            ExitCode::from(2)
        }
    }
}

/// The command line run, on the thread [`main`] starts.
fn run() -> ExitCode {
    panic_report::install();
    polscan::engine::host::install(std::sync::Arc::new(system_host::SystemHost));
    let cli = match usage::parse(std::env::args_os()) {
        Ok(cli) => cli,
        Err(err) if err.use_stderr() && asks_json_logs(std::env::args_os()) => {
            // A CronJob's wrong flag is one record too (rev27 F3).
            diag::set_format(LogFormat::Json);
            diag::line(err.render().to_string().trim_end());
            return ExitCode::from(usage::exit_code(&err));
        }
        Err(err) => return usage::report(&err),
    };
    diag::set_format(cli.log_format);
    init_logging(cli.log_format, cli.verbose);
    let result = match cli.command {
        Command::Apply(args) => apply::run(&args),
        Command::Test(args) => test::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Scan(args) => scan::run(&args, cli.quiet),
        Command::InstallCrds(args) => scan::install_crds(&args),
        Command::Evidence(args) => evidence::run(&args),
        Command::Completions(args) => {
            use clap::CommandFactory;
            // Into a buffer: clap_complete panics on a failed write (a
            // stdout closed early: walk39 F15).
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "polscan", &mut script);
            diag::stdout_bytes(&script);
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            diag::line(&format!("error: {}", error_text(&err)));
            if err.is::<usage::UsageError>() {
                ExitCode::from(usage::USAGE_EXIT_CODE)
            } else {
                ExitCode::from(2)
            }
        }
    }
}

/// Whether the command line asks for JSON logs (`--log-format json` or
/// `--log-format=json`), read before clap: a usage error is reported
/// before the flags are parsed.
fn asks_json_logs(args: impl IntoIterator<Item = std::ffi::OsString>) -> bool {
    let args: Vec<std::ffi::OsString> = args.into_iter().collect();
    args.iter().enumerate().any(|(i, arg)| {
        arg == "--log-format=json"
            || (arg == "--log-format" && args.get(i + 1).is_some_and(|next| next == "json"))
    })
}

/// An error and its causes as one line, `outer: cause: …`, as anyhow's
/// `{:#}` prints them, but without a cause the text already holds: several
/// library errors say their source in their own message too (a path and
/// its OS error), which `{:#}` would print twice.
pub(crate) fn error_text(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let cause = cause.to_string();
        if text.is_empty() {
            text = cause;
        } else if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

/// The Kubernetes client's libraries. Each failed request would be logged
/// by them once more beside the error polscan reports for it (kube-client
/// logs every failed request at `error`): thousands of lines when a server
/// dies during the writes. Their errors reach polscan's own messages.
const CLIENT_LIBRARIES: [&str; 10] = [
    "kube_client",
    "kube_core",
    "kube_runtime",
    "hyper",
    "hyper_util",
    "h2",
    "tower",
    "tower_http",
    "rustls",
    "tokio_rustls",
];

/// The log filter: `directives` (POLSCAN_LOG, else RUST_LOG) when given,
/// else `warn` (`debug` with -v); with the client libraries off unless a
/// directive names them (`kube_client=debug`) or -vv is given.
fn log_filter(directives: Option<&str>, verbose: u8) -> String {
    let mut filter = match directives {
        Some(text) => text.trim().to_string(),
        None if verbose == 0 => "warn".to_string(),
        // `polscan` covers polscan_cluster and the other crates of the
        // workspace: target directives match prefixes.
        None if verbose == 1 => "warn,polscan=debug,report_model=debug".to_string(),
        None => "debug".to_string(),
    };
    if verbose >= 2 && directives.is_none() {
        return filter;
    }
    // A directive's target (before `=` or a `[span]`); empty for a level
    // alone, which sets the default.
    let targets: Vec<String> = filter
        .split(',')
        .map(|d| d.split(['=', '[']).next().unwrap_or_default().trim())
        .filter(|t| !t.is_empty() && t.parse::<tracing::level_filters::LevelFilter>().is_err())
        .map(str::to_string)
        .collect();
    for library in CLIENT_LIBRARIES {
        // `kube=debug` covers kube_client: target directives match prefixes.
        if !targets.iter().any(|t| library.starts_with(t.as_str())) {
            filter.push_str(&format!(",{library}=off"));
        }
    }
    filter
}

fn init_logging(format: LogFormat, verbose: u8) {
    let directives = ["POLSCAN_LOG", "RUST_LOG"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()));
    let filter = tracing_subscriber::EnvFilter::try_new(log_filter(directives.as_deref(), verbose))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(log_filter(None, verbose)));
    // Colour codes only for a person at a terminal: log files and
    // collectors get plain text.
    let ansi = {
        use std::io::IsTerminal;
        std::io::stderr().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::error_text;

    #[derive(Debug, thiserror::Error)]
    #[error("{path}: {source}")]
    struct SaysItsSource {
        path: String,
        #[source]
        source: std::io::Error,
    }

    #[test]
    fn the_client_libraries_log_only_when_named() {
        use super::log_filter;
        assert_eq!(
            log_filter(None, 0),
            "warn,kube_client=off,kube_core=off,kube_runtime=off,hyper=off,hyper_util=off,h2=off,tower=off,tower_http=off,rustls=off,tokio_rustls=off"
        );
        assert!(log_filter(None, 1)
            .starts_with("warn,polscan=debug,report_model=debug,kube_client=off,"));
        assert_eq!(log_filter(None, 2), "debug");
        // The deploy manifests' POLSCAN_LOG=info: polscan's info, not
        // kube-client's error line per failed request.
        let info = log_filter(Some("info"), 0);
        assert!(
            info.starts_with("info,") && info.contains(",kube_client=off,"),
            "{info}"
        );
        let named = log_filter(Some("warn,kube=debug,rustls=info"), 0);
        assert!(
            !named.contains("kube_client=off")
                && !named.contains("kube_core=off")
                && !named.contains(",rustls=off")
                && named.contains("hyper=off"),
            "{named}"
        );
        let spans = log_filter(Some("tower_http[request]=debug"), 0);
        assert!(
            !spans.contains("tower_http=off") && spans.contains("tower=off"),
            "{spans}"
        );
    }

    #[test]
    fn error_text_says_each_cause_once() {
        let missing = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let err = anyhow::Error::new(SaysItsSource {
            path: "ev1/evidence.json".into(),
            source: missing,
        })
        .context("--since ev1");
        assert_eq!(
            error_text(&err),
            "--since ev1: ev1/evidence.json: No such file"
        );
        // A cause the message does not hold is still said.
        let err = anyhow::anyhow!("disk full").context("writing evidence.json");
        assert_eq!(error_text(&err), "writing evidence.json: disk full");
    }
}
