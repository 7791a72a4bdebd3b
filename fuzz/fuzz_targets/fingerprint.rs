//! Fuzz target for query fingerprinting: any input, read with every flavor, must neither
//! panic nor break the laws the analyzer relies on (the fingerprint is the hash of the
//! normalized text, normalizing is bounded by the input's length).
//!
//! `cargo +nightly fuzz run fingerprint -- -dict=fuzz/fingerprint.dict -max_total_time=300`

#![no_main]

use libfuzzer_sys::fuzz_target;
use persona_core::analysis::fingerprint::{Fingerprint, Flavor, fingerprint_as, normalize_as};

fuzz_target!(|data: &[u8]| {
    // Statements arrive as `&str`; feed valid UTF-8 as is and anything else repaired.
    let sql = String::from_utf8_lossy(data);
    for flavor in [Flavor::Generic, Flavor::Postgres, Flavor::Mysql] {
        let text = normalize_as(&sql, flavor);
        assert_eq!(
            fingerprint_as(&sql, flavor),
            Fingerprint::of_normalized(&text)
        );
        assert!(text.len() <= 8 * sql.len() + 16, "{sql:?} -> {text:?}");
    }
});
