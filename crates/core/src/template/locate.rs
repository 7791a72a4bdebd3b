//! Where in a document an error happened: byte offsets turned into line:column and into the
//! field path (`initial_schema.tables[orders].columns[status].type`), for TOML and JSON.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    /// An array element, with the element's `name` when it has one.
    Index(usize, Option<String>),
}

fn render(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(_, Some(name)) if !name.is_empty() => {
                out.push('[');
                out.push_str(name);
                out.push(']');
            }
            Step::Index(i, _) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

/// 1-based line and column (in characters) of byte `offset` in `source`.
pub(super) fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = source[line_start..offset].chars().count() + 1;
    (line, column)
}

/// Byte offset of 1-based `line` and `column` (in characters; serde_json counts bytes, which is
/// the same for ASCII) in `source`.
pub(super) fn offset_of(source: &str, line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match source[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return source.len(),
        }
    }
    let line_text = &source[start..];
    let end = line_text.find('\n').unwrap_or(line_text.len());
    let within = line_text[..end]
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(end, |(i, _)| i);
    start + within
}

/// The text of 1-based `line` of `source`.
pub(super) fn line_text(source: &str, line: usize) -> &str {
    source.lines().nth(line.saturating_sub(1)).unwrap_or("")
}

/// The field path of the deepest key or value that contains the byte range `span` of a TOML
/// document (an unknown key's span is the key, a bad value's the value, a missing field's the
/// table that lacks it).
pub(super) fn toml_path(source: &str, span: Range<usize>) -> String {
    let Ok(doc) = DeTable::parse(source) else {
        return String::new();
    };
    let mut steps = Vec::new();
    toml_table(doc.get_ref(), &span, &mut steps);
    render(&steps)
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start
        && inner.end <= outer.end
        && (outer.start < outer.end || outer == inner)
}

fn toml_table(table: &DeTable<'_>, offset: &Range<usize>, steps: &mut Vec<Step>) {
    for (key, value) in table {
        if contains(&key.span(), offset) {
            steps.push(Step::Key(key.get_ref().to_string()));
            return;
        }
        if contains(&value.span(), offset) {
            steps.push(Step::Key(key.get_ref().to_string()));
            toml_value(value.get_ref(), offset, steps);
            return;
        }
    }
    // A table made of `[header]` sections has no span of its own covering its keys: look for the
    // offset inside each sub-table and array of tables.
    for (key, value) in table {
        let mut inner = vec![Step::Key(key.get_ref().to_string())];
        if toml_value_contains(value.get_ref(), offset, &mut inner) {
            steps.extend(inner);
            return;
        }
    }
}

fn toml_value_contains(value: &DeValue<'_>, offset: &Range<usize>, steps: &mut Vec<Step>) -> bool {
    let before = steps.len();
    toml_value(value, offset, steps);
    steps.len() > before
}

fn toml_value(value: &DeValue<'_>, offset: &Range<usize>, steps: &mut Vec<Step>) {
    match value {
        DeValue::Table(t) => toml_table(t, offset, steps),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let name = item
                    .get_ref()
                    .as_table()
                    .and_then(|t| t.get("name"))
                    .and_then(|n| n.get_ref().as_str())
                    .map(str::to_owned);
                if contains(&item.span(), offset) {
                    steps.push(Step::Index(i, name));
                    toml_value(item.get_ref(), offset, steps);
                    return;
                }
                let mut inner = vec![Step::Index(i, name)];
                if toml_value_contains(item.get_ref(), offset, &mut inner) {
                    steps.extend(inner);
                    return;
                }
            }
        }
        _ => {}
    }
}

/// The field path at byte `offset` of a JSON document: the keys and array indexes open at that
/// point, with array elements named by their `name` field when the document parses.
///
/// `missing_field` says the error is about the innermost object itself (serde reports a missing
/// field at the object's end), not about its last key.
pub(super) fn json_path(source: &str, offset: usize, missing_field: bool) -> String {
    let value: Option<serde_json::Value> = serde_json::from_str(source).ok();
    let mut steps = json_steps(source, offset, missing_field);
    // Name array elements from the parsed document.
    if let Some(root) = &value {
        let mut cur = Some(root);
        for step in &mut steps {
            match step {
                Step::Key(k) => cur = cur.and_then(|v| v.get(k.as_str())),
                Step::Index(i, name) => {
                    cur = cur.and_then(|v| v.get(*i));
                    *name = cur
                        .and_then(|v| v.get("name"))
                        .and_then(serde_json::Value::as_str)
                        .map(str::to_owned);
                }
            }
        }
    }
    render(&steps)
}

/// Scan JSON text up to `offset`, tracking open containers.
fn json_steps(source: &str, offset: usize, drop_last_key: bool) -> Vec<Step> {
    enum Frame {
        Object {
            key: Option<String>,
            after_colon: bool,
        },
        Array {
            index: usize,
        },
    }
    let bytes = source.as_bytes();
    let end = offset.min(bytes.len());
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < end {
        match bytes[i] {
            b'{' => stack.push(Frame::Object {
                key: None,
                after_colon: false,
            }),
            b'[' => stack.push(Frame::Array { index: 0 }),
            b'}' | b']' => {
                stack.pop();
            }
            b':' => {
                if let Some(Frame::Object { after_colon, .. }) = stack.last_mut() {
                    *after_colon = true;
                }
            }
            b',' => match stack.last_mut() {
                Some(Frame::Object { key, after_colon }) => {
                    *key = None;
                    *after_colon = false;
                }
                Some(Frame::Array { index }) => *index += 1,
                None => {}
            },
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < bytes.len() && bytes[j] != b'"' {
                    if bytes[j] == b'\\' {
                        j += 1;
                    }
                    j += 1;
                }
                if let Some(Frame::Object {
                    key,
                    after_colon: false,
                }) = stack.last_mut()
                {
                    let raw = &source[start..j.min(source.len())];
                    *key = Some(
                        serde_json::from_str::<String>(&format!("\"{raw}\""))
                            .unwrap_or_else(|_| raw.to_owned()),
                    );
                }
                i = j;
            }
            _ => {}
        }
        i += 1;
    }
    if drop_last_key && let Some(Frame::Object { key, .. }) = stack.last_mut() {
        *key = None;
    }
    let mut steps = Vec::new();
    for frame in stack {
        match frame {
            Frame::Object { key: Some(k), .. } => steps.push(Step::Key(k)),
            Frame::Object { key: None, .. } => {}
            Frame::Array { index } => steps.push(Step::Index(index, None)),
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_and_offset_agree() {
        let src = "a = 1\nbé = \"x\"\n";
        let off = src.find('=').unwrap();
        assert_eq!(line_column(src, off), (1, 3));
        let off2 = src.rfind('"').unwrap();
        assert_eq!(line_column(src, off2), (2, 8));
        assert_eq!(offset_of(src, 2, 8), off2);
        assert_eq!(line_text(src, 2), "bé = \"x\"");
    }

    #[test]
    fn json_paths_name_array_elements() {
        let src = r#"{"initial_schema": {"tables": [{"name": "a", "columns": []}, {"name": "b", "bogus": 1}]}}"#;
        let off = src.find("bogus").unwrap() + 6;
        assert_eq!(json_path(src, off, false), "initial_schema.tables[b].bogus");
        let end = src.find("1}").unwrap() + 1;
        assert_eq!(json_path(src, end, true), "initial_schema.tables[b]");
    }

    #[test]
    fn toml_paths_follow_arrays_of_tables() {
        let src = "name = \"x\"\n[[initial_schema.tables]]\nname = \"t\"\n[[initial_schema.tables.columns]]\nname = \"c\"\ntype = \"strnig\"\n";
        let off = src.find("\"strnig\"").unwrap();
        assert_eq!(
            toml_path(src, off..off + 8),
            "initial_schema.tables[t].columns[c].type"
        );
        // A missing field's span is its whole table; the document's is the root.
        assert_eq!(toml_path(src, 0..src.len()), "");
    }
}
