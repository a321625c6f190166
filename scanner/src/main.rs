//! The `polscan` binary: the command line (`cli`: parsing, progress, the
//! metrics server — private to the binary, as ripgrep keeps its flags) over
//! the library's work, with mimalloc as its allocator (see
//! scanner/Cargo.toml for why).

mod bundled;
mod cli;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
