//! Deterministic names for constraints and indexes that a user did not name.

/// The longest derived name, in bytes: fits PostgreSQL's 63-byte and MySQL's 64-character
/// identifier limits.
pub const MAX_DERIVED_LEN: usize = 63;

/// `{table}_{part}_{part}…_{suffix}`, shortened with a stable hash when it would exceed
/// [`MAX_DERIVED_LEN`] bytes.
pub fn derived(table: &str, parts: &[&str], suffix: &str) -> String {
    let mut name = String::from(table);
    for p in parts {
        name.push('_');
        name.push_str(p);
    }
    name.push('_');
    name.push_str(suffix);
    if name.len() <= MAX_DERIVED_LEN {
        return name;
    }
    let hash = format!("{:08x}", fnv1a(name.as_bytes()) as u32);
    let keep = MAX_DERIVED_LEN - hash.len() - 1;
    let mut cut = keep;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}_{hash}", &name[..cut])
}

/// 64-bit FNV-1a: a small, stable, dependency-free hash for names.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_kept_and_long_ones_shortened_stably() {
        assert_eq!(
            derived("orders", &["customer_id"], "fkey"),
            "orders_customer_id_fkey"
        );
        let long = "é".repeat(40);
        let a = derived(&long, &["x"], "idx");
        assert!(a.len() <= MAX_DERIVED_LEN, "{a}");
        assert_eq!(a, derived(&long, &["x"], "idx"));
        assert_ne!(a, derived(&long, &["y"], "idx"));
    }
}
