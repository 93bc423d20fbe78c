//! The education feed service: its record types classified into items over the shared feed library.
