//! Persona Studio's application layer as a library: the desktop app ([`gui`]). The `persona`
//! binary (src/main.rs) adds the command line on top; integration tests drive the GUI here.

pub mod gui;
