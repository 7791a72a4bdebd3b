//! Persona templates: the built-in template files, and parsing of persona TOML/JSON documents
//! with errors that name the file, the field and the problem.
