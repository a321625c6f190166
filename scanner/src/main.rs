//! The `polscan` binary: a thin shell over the library's commands, with
//! mimalloc as its allocator (see scanner/Cargo.toml for why).

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    polscan::cli::main()
}
