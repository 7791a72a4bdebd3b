//! Workloads for Persona Studio's benchmarks: a realistic stream of SQL statements, made of a
//! few dozen application query shapes (OLTP selects, joins, inserts with VALUES lists of varying
//! length, updates, IN-lists of varying length) with fresh literals in every statement.
//!
//! The stream is deterministic for a seed, and written in PostgreSQL syntax so that libpg_query
//! parses every statement and the baseline is measured on exactly the same input.

use std::fmt::Write;

/// A small deterministic random generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.range(0, items.len() as u64 - 1) as usize]
    }

    fn id(&mut self) -> u64 {
        // Mostly small ids, sometimes large ones: literals of varying length.
        if self.range(0, 3) == 0 {
            self.range(1, 9_999_999_999)
        } else {
            self.range(1, 99_999)
        }
    }

    fn price(&mut self) -> String {
        format!("{}.{:02}", self.range(0, 9_999), self.range(0, 99))
    }

    fn ts(&mut self) -> String {
        format!(
            "2024-{:02}-{:02} {:02}:{:02}:{:02}+00",
            self.range(1, 12),
            self.range(1, 28),
            self.range(0, 23),
            self.range(0, 59),
            self.range(0, 59)
        )
    }

    fn word(&mut self) -> &'static str {
        self.pick(&[
            "red", "blue", "acme", "globex", "initech", "umbrella", "hooli", "soylent",
        ])
    }

    /// A string literal's content, sometimes with a quote that must be doubled.
    fn text(&mut self) -> String {
        let words = [
            "great",
            "product",
            "O''Brien",
            "it''s",
            "fast shipping",
            "née",
            "5/5",
            "100%",
        ];
        let n = self.range(1, 8);
        (0..n)
            .map(|_| self.pick(&words))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn hex(&mut self) -> String {
        format!("{:016x}{:016x}", self.next_u64(), self.next_u64())
    }

    fn status(&mut self) -> &'static str {
        self.pick(&[
            "pending",
            "paid",
            "shipped",
            "delivered",
            "cancelled",
            "refunded",
        ])
    }

    fn ids(&mut self, max: u64) -> String {
        let n = self.range(1, max);
        let ids: Vec<String> = (0..n).map(|_| self.id().to_string()).collect();
        ids.join(", ")
    }

    fn statuses(&mut self) -> String {
        let n = self.range(1, 4);
        let list: Vec<String> = (0..n).map(|_| format!("'{}'", self.status())).collect();
        list.join(", ")
    }
}

/// One application query shape: writes a statement with fresh literals.
pub type Shape = fn(&mut Rng, &mut String);

/// The shapes of the stream; every statement one of them writes has the same shape.
pub const SHAPES: &[Shape] = &[
    |r, s| _ = write!(s, "SELECT * FROM users WHERE id = {}", r.id()),
    |r, s| {
        _ = write!(
            s,
            "SELECT id, email, name FROM users WHERE email = '{}{}@example.com'",
            r.word(),
            r.id()
        );
    },
    |r, s| {
        _ = write!(
            s,
            "SELECT * FROM products WHERE sku = 'SKU-{}' AND active = true",
            r.id()
        );
    },
    |r, s| {
        _ = write!(
            s,
            "SELECT id, name, price FROM products WHERE category_id = {} ORDER BY price DESC LIMIT {}",
            r.id(),
            r.range(5, 100)
        );
    },
    |r, s| {
        _ = write!(
            s,
            "SELECT * FROM orders WHERE customer_id = {} ORDER BY created_at DESC LIMIT 20",
            r.id()
        );
    },
    |r, s| {
        _ = write!(
            s,
            "SELECT count(*) FROM orders WHERE status = '{}' AND created_at > '{}'",
            r.status(),
            r.ts()
        );
    },
    |r, s| {
        _ = write!(
            s,
            "SELECT o.id, o.total, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = {}",
            r.id()
        );
    },
    |r, s| {
        _ = write!(
            s,
            "SELECT p.id, p.name, i.quantity FROM products p JOIN inventory i ON i.product_id = p.id WHERE p.id IN ({})",
            r.ids(30)
        );
    },
    |r, s| {
        _ = write!(
            s,
            "SELECT * FROM sessions WHERE token = '{}' AND expires_at > now()",
            r.hex()
        );
    },
    |r, s| _ = write!(s, "SELECT id FROM products WHERE id IN ({})", r.ids(100)),
    |r, s| {
        _ = write!(
            s,
            "SELECT * FROM order_items WHERE order_id IN ({}) ORDER BY order_id, id",
            r.ids(20)
        );
    },
    |r, s| {
        _ = write!(
            s,
            "SELECT id, title FROM posts WHERE author_id = {} AND published_at < '{}' ORDER BY published_at DESC LIMIT {} OFFSET {}",
            r.id(),
            r.ts(),
            r.range(10, 50),
            r.range(0, 500)
        );
    },
    |r, s| {
        _ = write!(
            s,
            "SELECT p.*, u.name FROM posts p JOIN users u ON u.id = p.author_id WHERE p.id = {}",
            r.id()
        );
    },
    |r, s| {
        _ = write!(
            s,
            "SELECT c.id, c.body FROM comments c WHERE c.post_id = {} AND c.deleted_at IS NULL ORDER BY c.created_at LIMIT 50",
            r.id()
        );
    },
    |r, s| _ = write!(s, "SELECT count(*) FROM likes WHERE post_id = {}", r.id()),
    |r, s| {
        _ = write!(
            s,
            "SELECT EXISTS (SELECT 1 FROM follows WHERE follower_id = {} AND followee_id = {})",
            r.id(),
            r.id()
        );
    },
    |r, s| {
        _ = write!(
            s,
            "SELECT f.followee_id FROM follows f WHERE f.follower_id = {}",
            r.id()
        );
    },
    |r, s| {
        _ = write!(
            s,
            "SELECT id, payload FROM feed_items WHERE user_id = {} AND id < {} ORDER BY id DESC LIMIT {}",
            r.id(),
            r.id(),
            r.range(10, 100)
        );
    },
    |r, s| {
        _ = write!(
            s,
            "SELECT device_id, avg(value), max(value) FROM readings WHERE sensor_id = {} AND recorded_at BETWEEN '{}' AND '{}' GROUP BY device_id",
            r.id(),
            r.ts(),
            r.ts()
        );
    },
    |r, s| {
        _ = write!(
            s,
            "SELECT * FROM readings WHERE device_id = {} ORDER BY recorded_at DESC LIMIT 1",
            r.id()
        );
    },
    |r, s| {
        _ = write!(
            s,
            "SELECT attributes->>'color' AS color, count(*) FROM products WHERE attributes->>'brand' = '{}' GROUP BY 1",
            r.word()
        );
    },
    |r, s| {
        _ = write!(
            s,
            "SELECT id FROM products WHERE attributes @> '{{\"brand\": \"{}\"}}'::jsonb",
            r.word()
        );
    },
    |_, s| s.push_str("SELECT name FROM categories WHERE parent_id IS NULL ORDER BY name"),
    |r, s| {
        _ = write!(
            s,
            "SELECT c.name, sum(oi.quantity * oi.unit_price) FROM order_items oi JOIN products p ON p.id = oi.product_id \
             JOIN categories c ON c.id = p.category_id WHERE oi.created_at >= '{}' GROUP BY c.name ORDER BY 2 DESC LIMIT 10",
            r.ts()
        );
    },
    |r, s| {
        _ = write!(
            s,
            "SELECT * FROM users WHERE lower(email) = lower('{}{}@Example.com')",
            r.word(),
            r.id()
        );
    },
    |r, s| {
        _ = write!(
            s,
            "SELECT id FROM users WHERE name ILIKE '{}%' LIMIT 10",
            r.word()
        );
    },
    |r, s| {
        _ = write!(
            s,
            "SELECT id, status FROM orders WHERE status IN ({}) AND updated_at < now() - interval '{} minutes'",
            r.statuses(),
            r.range(1, 120)
        );
    },
    |r, s| {
        _ = write!(
            s,
            "SELECT balance FROM accounts WHERE id = {} FOR UPDATE",
            r.id()
        );
    },
    |r, s| {
        _ = write!(
            s,
            "SELECT * FROM tenants t JOIN subscriptions s ON s.tenant_id = t.id WHERE t.slug = '{}' AND s.active",
            r.word()
        );
    },
    |r, s| {
        _ = write!(
            s,
            "SELECT id, amount FROM payments WHERE order_id = {} AND amount > {}",
            r.id(),
            r.price()
        );
    },
    |r, s| {
        _ = write!(
            s,
            "INSERT INTO orders (customer_id, status, total, created_at) VALUES ({}, '{}', {}, now()) RETURNING id",
            r.id(),
            r.status(),
            r.price()
        );
    },
    |r, s| {
        s.push_str("INSERT INTO order_items (order_id, product_id, quantity, unit_price) VALUES ");
        let order = r.id();
        for i in 0..r.range(1, 12) {
            let sep = if i == 0 { "" } else { ", " };
            _ = write!(
                s,
                "{sep}({order}, {}, {}, {})",
                r.id(),
                r.range(1, 5),
                r.price()
            );
        }
    },
    |r, s| {
        s.push_str("INSERT INTO readings (device_id, sensor_id, value, recorded_at) VALUES ");
        for i in 0..r.range(1, 50) {
            let sep = if i == 0 { "" } else { ", " };
            let value = r.range(0, 10_000) as i64 - 5_000;
            _ = write!(
                s,
                "{sep}({}, {}, {value}.{}, '{}')",
                r.id(),
                r.range(1, 8),
                r.range(0, 9),
                r.ts()
            );
        }
    },
    |r, s| {
        _ = write!(
            s,
            "INSERT INTO likes (user_id, post_id) VALUES ({}, {}) ON CONFLICT DO NOTHING",
            r.id(),
            r.id()
        );
    },
    |r, s| {
        _ = write!(
            s,
            "INSERT INTO events (kind, payload, created_at) VALUES ('{}', '{{\"n\": {}}}', '{}')",
            r.word(),
            r.id(),
            r.ts()
        );
    },
    |r, s| {
        s.push_str("INSERT INTO audit_log (actor_id, action, target, at) VALUES ");
        for i in 0..r.range(1, 5) {
            let sep = if i == 0 { "" } else { ", " };
            _ = write!(
                s,
                "{sep}({}, '{}', 'order:{}', now())",
                r.id(),
                r.status(),
                r.id()
            );
        }
    },
    |r, s| {
        _ = write!(
            s,
            "UPDATE users SET last_login_at = now() WHERE id = {}",
            r.id()
        );
    },
    |r, s| {
        _ = write!(
            s,
            "UPDATE products SET price = {}, updated_at = now() WHERE id = {}",
            r.price(),
            r.id()
        );
    },
    |r, s| {
        let n = r.range(1, 5);
        _ = write!(
            s,
            "UPDATE inventory SET quantity = quantity - {n} WHERE product_id = {} AND quantity >= {n}",
            r.id()
        );
    },
    |r, s| {
        _ = write!(
            s,
            "UPDATE orders SET status = '{}' WHERE id IN ({})",
            r.status(),
            r.ids(10)
        );
    },
    |r, s| {
        _ = write!(
            s,
            "UPDATE accounts SET balance = balance + -{} WHERE id = {}",
            r.price(),
            r.id()
        );
    },
    |r, s| {
        _ = write!(
            s,
            "UPDATE sessions SET expires_at = '{}' WHERE token = '{}'",
            r.ts(),
            r.hex()
        );
    },
    |r, s| _ = write!(s, "DELETE FROM sessions WHERE expires_at < '{}'", r.ts()),
    |r, s| {
        _ = write!(
            s,
            "DELETE FROM cart_items WHERE cart_id = {} AND product_id IN ({})",
            r.id(),
            r.ids(8)
        );
    },
    |r, s| {
        _ = write!(
            s,
            "INSERT INTO comments (post_id, author_id, body) VALUES ({}, {}, '{}') /*traceparent='00-{}-01'*/",
            r.id(),
            r.id(),
            r.text(),
            r.hex()
        );
    },
    |r, s| {
        _ = write!(
            s,
            "UPDATE posts SET body = '{}', edited = true WHERE id = {} AND author_id = {}",
            r.text(),
            r.id(),
            r.id()
        );
    },
    |r, s| {
        _ = write!(
            s,
            "SELECT id FROM posts WHERE tags && ARRAY[{}]::text[]",
            r.statuses()
        );
    },
    |r, s| {
        _ = write!(
            s,
            "SELECT * FROM users WHERE id = ANY('{{{}}}'::bigint[])",
            r.ids(5).replace(' ', "")
        );
    },
    |r, s| _ = write!(s, "SELECT set_config('app.tenant', '{}', false)", r.word()),
    |r, s| {
        _ = write!(
            s,
            "SELECT p.id, p.name FROM products p WHERE p.category_id = {} AND p.price BETWEEN {} AND {} \
             AND p.active = true ORDER BY p.name LIMIT {}",
            r.id(),
            r.price(),
            r.price(),
            r.range(10, 50)
        );
    },
];

/// `n` statements drawn from [`SHAPES`] (uniformly), each with fresh literals; with the index
/// of the shape that wrote it.
pub fn stream(n: usize, seed: u64) -> Vec<(usize, String)> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            let shape = rng.range(0, SHAPES.len() as u64 - 1) as usize;
            let mut sql = String::with_capacity(160);
            SHAPES[shape](&mut rng, &mut sql);
            (shape, sql)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use persona_core::analysis::fingerprint::fingerprint;

    use super::*;

    /// The stream is only a fair workload if every shape is one pattern and shapes differ.
    #[test]
    fn each_shape_is_one_fingerprint() {
        let mut by_shape = HashMap::new();
        for (shape, sql) in stream(5_000, 7) {
            let fp = fingerprint(&sql);
            let first = *by_shape.entry(shape).or_insert(fp);
            assert_eq!(fp, first, "shape {shape}: {sql}");
        }
        assert_eq!(by_shape.len(), SHAPES.len());
        let mut distinct: Vec<_> = by_shape.values().collect();
        distinct.sort();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            SHAPES.len(),
            "two shapes share a fingerprint"
        );
    }

    #[test]
    fn literals_vary() {
        let sqls: Vec<_> = stream(1_000, 1).into_iter().map(|(_, s)| s).collect();
        let mut unique = sqls.clone();
        unique.sort();
        unique.dedup();
        // Only the literal-free shape repeats verbatim.
        assert!(
            unique.len() > sqls.len() * 9 / 10,
            "{} unique of {}",
            unique.len(),
            sqls.len()
        );
    }
}
