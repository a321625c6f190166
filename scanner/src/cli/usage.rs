//! Command-line usage errors: the raw arguments enter; the parsed [`Cli`]
//! or a clap error (with suggestions only for flags genuinely close to the
//! one typed) leaves, and [`report`] turns an error into its exit code.
//!
//! clap's own "a similar argument exists" accepts any Jaro similarity over
//! 0.7, which offered `--values` for `--table`; here an unknown flag is
//! named and a suggestion is kept only within a small edit distance.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, FromArgMatches};

use super::Cli;

/// A usage error (sysexits.h `EX_USAGE`): apart from 2, which says an
/// audit or scan is incomplete.
pub const USAGE_EXIT_CODE: u8 = 64;

/// A command line that parsed but does not make sense (both policies and
/// resources from stdin, say); exits with [`USAGE_EXIT_CODE`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Parses the arguments (the program name first) as clap does, with
/// strict suggestions for unknown flags.
pub fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let mut command = Cli::command();
    let matches = command
        .try_get_matches_from_mut(args.iter().cloned())
        .map_err(|err| tighten(err, &command, &args))?;
    Cli::from_arg_matches(&matches).map_err(|err| err.with_cmd(&command))
}

/// Prints the error (help and version to stdout) and gives its exit code.
pub fn report(err: &clap::Error) -> ExitCode {
    let _ = err.print();
    ExitCode::from(exit_code(err))
}

/// 0 for `--help` and `--version`, [`USAGE_EXIT_CODE`] for the rest.
pub fn exit_code(err: &clap::Error) -> u8 {
    if err.use_stderr() {
        USAGE_EXIT_CODE
    } else {
        0
    }
}

/// Rebuilds an unknown-argument error with a suggestion only when one is
/// close; other errors pass through.
fn tighten(mut err: clap::Error, command: &clap::Command, args: &[OsString]) -> clap::Error {
    if err.kind() == ErrorKind::InvalidValue && kyverno_policy_report_flag(&err, args) {
        err.insert(
            ContextKind::Suggested,
            ContextValue::StyledStrs(vec![
                "`-p` is --policy here; for `kyverno apply -p` write --policy-report".into(),
            ]),
        );
        return err;
    }
    if err.kind() != ErrorKind::UnknownArgument {
        return err;
    }
    let Some(ContextValue::String(typed)) = err.get(ContextKind::InvalidArg).cloned() else {
        return err;
    };
    // The subcommand the flag was given to: its flags and the global ones.
    let subcommand = args
        .iter()
        .skip(1)
        .filter_map(|arg| arg.to_str())
        .find_map(|arg| command.find_subcommand(arg));
    let mut longs: Vec<String> = long_flags(command);
    if let Some(sub) = subcommand {
        longs.extend(long_flags(sub));
    }
    let mut rebuilt = clap::Error::new(ErrorKind::UnknownArgument).with_cmd(command);
    rebuilt.insert(ContextKind::InvalidArg, ContextValue::String(typed.clone()));
    if let Some(suggestion) = closest_flag(&typed, &longs) {
        rebuilt.insert(ContextKind::SuggestedArg, ContextValue::String(suggestion));
    }
    // Rendered afresh: clap's usage line names the flag it would have
    // suggested.
    let mut built = command.clone();
    built.build();
    let usage = match subcommand.map(clap::Command::get_name) {
        Some(name) => built
            .find_subcommand_mut(name)
            .map(clap::Command::render_usage),
        None => Some(built.render_usage()),
    };
    if let Some(usage) = usage {
        rebuilt.insert(ContextKind::Usage, ContextValue::StyledStr(usage));
    }
    rebuilt
}

/// `-p` given without a value, as `kyverno apply` users write its
/// `--policy-report` short flag.
fn kyverno_policy_report_flag(err: &clap::Error, args: &[OsString]) -> bool {
    let Some(ContextValue::String(arg)) = err.get(ContextKind::InvalidArg) else {
        return false;
    };
    arg.starts_with("--policy ") && args.iter().any(|a| a == "-p")
}

/// Every `--long` spelling (names and aliases) of a command's arguments.
fn long_flags(command: &clap::Command) -> Vec<String> {
    command
        .get_arguments()
        .flat_map(|arg| {
            arg.get_long()
                .into_iter()
                .chain(arg.get_all_aliases().unwrap_or_default())
                .map(|long| format!("--{long}"))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The known flag nearest to `typed`, when it is a typo away: at most one
/// edit for names of up to four letters, two for longer ones (a swapped
/// pair counts as one).
pub fn closest_flag(typed: &str, known: &[String]) -> Option<String> {
    let name = typed.split('=').next().unwrap_or(typed);
    if !name.starts_with("--") {
        return None;
    }
    let letters = name.len() - 2;
    let allowed = if letters <= 4 { 1 } else { 2 };
    known
        .iter()
        .map(|flag| (strsim::osa_distance(name, flag), flag))
        .filter(|(distance, _)| *distance <= allowed)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, flag)| flag.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(flags: &[&str]) -> Vec<String> {
        flags.iter().map(|f| f.to_string()).collect()
    }

    #[test]
    fn only_close_flags_are_suggested() {
        let flags = known(&["--values", "--values-file", "--table", "--resource"]);
        assert_eq!(closest_flag("--tabel", &flags).as_deref(), Some("--table"));
        assert_eq!(
            closest_flag("--resorce", &flags).as_deref(),
            Some("--resource")
        );
        assert_eq!(
            closest_flag("--vlaues=x", &flags).as_deref(),
            Some("--values")
        );
        assert_eq!(closest_flag("--tables", &flags).as_deref(), Some("--table"));
        // Far from everything: no suggestion at all.
        assert_eq!(closest_flag("--stdin", &flags), None);
        assert_eq!(closest_flag("--cluster", &flags), None);
        assert_eq!(closest_flag("-z", &flags), None);
    }

    fn rendered(args: &[&str]) -> (String, ErrorKind) {
        match parse(args.iter().copied()) {
            Ok(cli) => panic!("parsed: {cli:?}"),
            Err(err) => (err.render().to_string(), err.kind()),
        }
    }

    #[test]
    fn an_unknown_flag_is_named_without_a_far_suggestion() {
        let (text, kind) = rendered(&["polscan", "apply", "p.yaml", "-r", "r.yaml", "--stdin"]);
        assert_eq!(kind, ErrorKind::UnknownArgument);
        assert!(text.contains("'--stdin'"), "{text}");
        assert!(!text.contains("similar"), "{text}");
        // clap alone offered `--values` for this before `--table` existed;
        // a flag that far from every other gets no tip.
        let (text, _) = rendered(&["polscan", "apply", "p.yaml", "-r", "r.yaml", "--cluster"]);
        assert!(
            text.contains("'--cluster'") && !text.contains("similar"),
            "{text}"
        );
    }

    #[test]
    fn a_typo_gets_the_close_flag_and_the_usage() {
        let (text, _) = rendered(&["polscan", "apply", "p.yaml", "-r", "r.yaml", "--tabel"]);
        assert!(text.contains("'--tabel'"), "{text}");
        assert!(text.contains("'--table'"), "{text}");
        assert!(text.contains("Usage: polscan apply [OPTIONS]"), "{text}");
        // Flags of the subcommand given, not of another one.
        let (text, _) = rendered(&["polscan", "test", "dir", "--fail-onyl"]);
        assert!(text.contains("'--fail-only'"), "{text}");
    }

    #[test]
    fn kyverno_dash_p_without_a_value_points_to_policy_report() {
        for args in [
            ["polscan", "apply", "p.yaml", "-r", "r.yaml", "-p"],
            ["polscan", "apply", "p.yaml", "-p", "-r", "r.yaml"],
        ] {
            let (text, kind) = rendered(&args);
            assert_eq!(kind, ErrorKind::InvalidValue, "{text}");
            assert!(text.contains("--policy-report"), "{text}");
        }
    }

    #[test]
    fn help_exits_0_and_errors_exit_64() {
        let help = match parse(["polscan", "apply", "--help"]) {
            Ok(cli) => panic!("parsed: {cli:?}"),
            Err(err) => err,
        };
        assert_eq!(exit_code(&help), 0);
        let text = help.render().to_string();
        assert!(
            text.contains("Exit codes:") && text.contains("64"),
            "{text}"
        );
        let missing = match parse(["polscan", "apply", "-r", "r.yaml"]) {
            Ok(cli) => panic!("parsed: {cli:?}"),
            Err(err) => err,
        };
        assert_eq!(missing.kind(), ErrorKind::MissingRequiredArgument);
        assert_eq!(exit_code(&missing), USAGE_EXIT_CODE);
    }
}
