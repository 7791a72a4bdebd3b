//! Provisioning: creates a persona's schema in a live database, safely for each dialect.
