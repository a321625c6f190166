//! The `polscan` binary: a thin shell over the library's commands.

fn main() {
    println!("polscan");
}
