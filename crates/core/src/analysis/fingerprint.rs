//! Query fingerprinting: a token-level normalizer that maps every statement of one shape
//! (whatever its literals, parameters, IN-list lengths, whitespace, keyword case and comments)
//! to one fingerprint.
