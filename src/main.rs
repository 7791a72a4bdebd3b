//! The `persona` binary: command-line interface (and, later, the desktop app).

fn main() {}
