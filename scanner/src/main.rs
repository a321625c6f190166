//! The `polscan` binary: a thin shell over the library's commands.

fn main() -> std::process::ExitCode {
    polscan::cli::main()
}
