//! Logical column types: what a column holds, independent of any dialect's spelling.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A logical column type. Each dialect maps it to its own spelling (see `crate::ddl`).
///
/// Written in files as a lowercase string: `bigint`, `varchar(255)`, `decimal(12,2)`, …
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DataType {
    SmallInt,
    Integer,
    BigInt,
    /// Exact numeric with precision and scale.
    Decimal {
        precision: u8,
        scale: u8,
    },
    /// 4-byte floating point.
    Real,
    /// 8-byte floating point.
    Double,
    Boolean,
    /// Unbounded text.
    Text,
    /// Text with a maximum length in characters.
    Varchar(u32),
    /// Fixed-length text.
    Char(u32),
    Uuid,
    Json,
    Date,
    Time,
    /// Timestamp without time zone.
    Timestamp,
    /// Timestamp with time zone (an instant).
    TimestampTz,
    /// Binary data.
    Bytes,
}

impl DataType {
    /// One value of every variant (parameterized ones with typical arguments), in declaration
    /// order: for type pickers and for tests that must cover every type.
    pub const EXAMPLES: [DataType; 17] = [
        DataType::SmallInt,
        DataType::Integer,
        DataType::BigInt,
        DataType::Decimal {
            precision: 12,
            scale: 2,
        },
        DataType::Real,
        DataType::Double,
        DataType::Boolean,
        DataType::Text,
        DataType::Varchar(255),
        DataType::Char(2),
        DataType::Uuid,
        DataType::Json,
        DataType::Date,
        DataType::Time,
        DataType::Timestamp,
        DataType::TimestampTz,
        DataType::Bytes,
    ];

    /// Whether values of `self` can be compared with values of `other` in a join or FK.
    pub fn is_compatible_with(self, other: DataType) -> bool {
        use DataType::{
            BigInt, Char, Date, Decimal, Double, Integer, Real, SmallInt, Text, Timestamp,
            TimestampTz, Varchar,
        };
        let family = |t: DataType| match t {
            SmallInt | Integer | BigInt => 0,
            Decimal { .. } | Real | Double => 1,
            Text | Varchar(_) | Char(_) => 2,
            Timestamp | TimestampTz | Date => 3,
            DataType::Boolean => 4,
            DataType::Uuid => 5,
            DataType::Json => 6,
            DataType::Time => 7,
            DataType::Bytes => 8,
        };
        family(self) == family(other)
    }

    /// Whether this is an integer type.
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            DataType::SmallInt | DataType::Integer | DataType::BigInt
        )
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataType::SmallInt => f.write_str("smallint"),
            DataType::Integer => f.write_str("integer"),
            DataType::BigInt => f.write_str("bigint"),
            DataType::Decimal { precision, scale } => write!(f, "decimal({precision},{scale})"),
            DataType::Real => f.write_str("real"),
            DataType::Double => f.write_str("double"),
            DataType::Boolean => f.write_str("boolean"),
            DataType::Text => f.write_str("text"),
            DataType::Varchar(n) => write!(f, "varchar({n})"),
            DataType::Char(n) => write!(f, "char({n})"),
            DataType::Uuid => f.write_str("uuid"),
            DataType::Json => f.write_str("json"),
            DataType::Date => f.write_str("date"),
            DataType::Time => f.write_str("time"),
            DataType::Timestamp => f.write_str("timestamp"),
            DataType::TimestampTz => f.write_str("timestamptz"),
            DataType::Bytes => f.write_str("bytes"),
        }
    }
}

/// Error for a type name that is not one of the logical types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown type `{0}` (expected one of smallint, integer, bigint, decimal(p,s), real, double, \
     boolean, text, varchar(n), char(n), uuid, json, date, time, timestamp, timestamptz, bytes)"
)]
pub struct DataTypeParseError(pub String);

impl FromStr for DataType {
    type Err = DataTypeParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || DataTypeParseError(s.to_owned());
        let lower = s.trim().to_ascii_lowercase();
        let (base, args) = match lower.split_once('(') {
            Some((base, rest)) => {
                let inner = rest.strip_suffix(')').ok_or_else(err)?;
                let args: Vec<&str> = inner.split(',').map(str::trim).collect();
                (base.trim().to_owned(), args)
            }
            None => (lower.clone(), Vec::new()),
        };
        let num = |i: usize| -> Result<u32, DataTypeParseError> {
            args.get(i).and_then(|a| a.parse().ok()).ok_or_else(err)
        };
        let ty = match (base.as_str(), args.len()) {
            ("smallint" | "int2", 0) => DataType::SmallInt,
            ("integer" | "int" | "int4", 0) => DataType::Integer,
            ("bigint" | "int8", 0) => DataType::BigInt,
            ("decimal" | "numeric", 2) => DataType::Decimal {
                precision: u8::try_from(num(0)?).map_err(|_| err())?,
                scale: u8::try_from(num(1)?).map_err(|_| err())?,
            },
            ("real" | "float4" | "float", 0) => DataType::Real,
            ("double" | "double precision" | "float8", 0) => DataType::Double,
            ("boolean" | "bool", 0) => DataType::Boolean,
            ("text", 0) => DataType::Text,
            ("varchar", 1) => DataType::Varchar(num(0)?),
            ("char", 1) => DataType::Char(num(0)?),
            ("uuid", 0) => DataType::Uuid,
            ("json" | "jsonb", 0) => DataType::Json,
            ("date", 0) => DataType::Date,
            ("time", 0) => DataType::Time,
            ("timestamp", 0) => DataType::Timestamp,
            ("timestamptz", 0) => DataType::TimestampTz,
            ("bytes" | "bytea" | "blob", 0) => DataType::Bytes,
            _ => return Err(err()),
        };
        if let DataType::Decimal { precision, scale } = ty
            && (precision == 0 || scale > precision)
        {
            return Err(err());
        }
        if matches!(ty, DataType::Varchar(0) | DataType::Char(0)) {
            return Err(err());
        }
        Ok(ty)
    }
}

impl TryFrom<String> for DataType {
    type Error = DataTypeParseError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<DataType> for String {
    fn from(value: DataType) -> Self {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_its_name() {
        let all = DataType::EXAMPLES;
        for ty in all {
            assert_eq!(ty.to_string().parse::<DataType>(), Ok(ty));
        }
    }

    #[test]
    fn aliases_and_bad_names() {
        assert_eq!("INT4".parse(), Ok(DataType::Integer));
        assert_eq!(
            "Numeric( 10 , 3 )".parse(),
            Ok(DataType::Decimal {
                precision: 10,
                scale: 3
            })
        );
        assert_eq!("jsonb".parse(), Ok(DataType::Json));
        for bad in [
            "varchar",
            "varchar(0)",
            "decimal(2,5)",
            "strnig",
            "varchar(x)",
            "int(",
            "",
        ] {
            assert!(bad.parse::<DataType>().is_err(), "{bad} should not parse");
        }
    }
}
